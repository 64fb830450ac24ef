"""`python manage.py backup [--dir DIR] [--list]`: the database and the media folder in one tar file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from facesite.backup import BackupError, create_backup, list_backups


class Command(BaseCommand):
    help = ("Back up the database (pg_dump) and MEDIA_ROOT into one file, facesite-<timestamp>.tar in "
            "BACKUP_DIR (var/backups by default). Restore it with `manage.py restore FILE`. Backups older than "
            "BACKUP_RETENTION_DAYS are deleted.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, help="where to write the backup (default: BACKUP_DIR)")
        parser.add_argument("--database", default="default", help="database alias (default: default)")
        parser.add_argument("--list", action="store_true", dest="list_only",
                            help="list the backups, marking those taken before an erasure (they still hold "
                                 "erased people's data; a restore erases them again)")  # fmt: skip

    def handle(self, *args: Any, dir: Path | None, database: str, list_only: bool, **options: Any) -> None:
        if list_only:
            for info in list_backups(dir, database=dict(connections[database].settings_dict)):
                mark = (f"predates the erasure of {len(info.erased_since)} people" if info.predates_erasures
                        else "reflects every erasure")  # fmt: skip
                self.stdout.write(f"{info.path.name}  {info.created_at:%Y-%m-%d %H:%M:%S}  {mark}")
            return
        try:
            path = create_backup(dir, database=dict(connections[database].settings_dict),
                                 log=lambda m: self.stdout.write(m))  # fmt: skip
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        size = path.stat().st_size
        self.stdout.write(self.style.SUCCESS(f"backup written: {path} ({size / 1e6:.1f} MB)"))
