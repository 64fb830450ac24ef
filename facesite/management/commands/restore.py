"""`python manage.py restore FILE [--force] [--allow-erased]`: load a backup made by `manage.py backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from facesite.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = ("Restore a backup (database and media files) made by `manage.py backup`. Refuses a database that "
            "already holds tables, or a media folder that already holds files, unless --force. People erased "
            "after the backup was taken are erased again, unless --allow-erased.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="the facesite-<timestamp>.tar file")
        parser.add_argument("--force", action="store_true",
                            help="replace what the backup holds in a non-empty database and media folder")
        parser.add_argument("--database", default="default", help="database alias (default: default)")
        parser.add_argument("--allow-erased", action="store_true",
                            help="bring back people erased after the backup was taken (a mistaken erasure); "
                                 "without it they are erased again")  # fmt: skip

    def handle(self, *args: Any, archive: Path, force: bool, database: str, allow_erased: bool,
               **options: Any) -> None:  # fmt: skip
        if not archive.is_file():
            raise CommandError(f"{archive} does not exist")
        try:
            result = restore_backup(archive, database=dict(connections[database].settings_dict), force=force,
                                    allow_erased=allow_erased, log=lambda m: self.stdout.write(m))  # fmt: skip
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if result.erased_again:
            self.stdout.write(f"{len(result.erased_again)} people erased since the backup were erased again "
                              f"(ids {', '.join(map(str, result.erased_again))})")  # fmt: skip
        if result.erased_restored:
            self.stdout.write(self.style.WARNING(
                f"--allow-erased: {len(result.erased_restored)} erased people are back (ids "
                f"{', '.join(map(str, result.erased_restored))}); the erasure ledger still names them, so a "
                f"later restore without --allow-erased erases them again"))
        self.stdout.write(self.style.SUCCESS(
            f"restored {result.archive.name} (made {result.created_at}) into database {result.database}, "
            f"{result.media_files} media files. Run `python manage.py migrate` if it came from an older "
            f"version."
        ))
