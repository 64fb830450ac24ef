"""Delete attendance face crops older than EVIDENCE_RETENTION_DAYS (the events stay). Run it daily (cron)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from attendance.services import purge_expired_evidence


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        removed = purge_expired_evidence()
        self.stdout.write(
            f"removed {removed} face crop(s) older than {settings.EVIDENCE_RETENTION_DAYS} days"
        )
