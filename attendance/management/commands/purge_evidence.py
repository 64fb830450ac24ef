"""Delete attendance face crops older than EVIDENCE_RETENTION_DAYS (the events stay). Run it daily (cron)."""

from django.core.management.base import BaseCommand

from attendance.conf import attendance_settings
from attendance.services import purge_expired_evidence


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        removed = purge_expired_evidence()
        self.stdout.write(
            f"removed {removed} face crop(s) older than {attendance_settings().evidence_retention_days} days"
        )
