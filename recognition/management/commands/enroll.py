"""`manage.py enroll PATH`: enroll a dataset folder (person_name/image.jpg) or a .zip of one.

Without a broker (no REDIS_URL) the images are processed here, with a progress bar; with one, the batch is
queued for the workers and followed until it is done (or not, with --no-wait).
"""

from __future__ import annotations

import time
import zipfile
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit.services import acting_as, command_actor
from recognition.conf import recognition_settings
from recognition.models import Enrollment, FaceImage, Source
from recognition.selectors import batch_progress
from recognition.services import enrollment
from recognition.uploads import read_folder, read_zip


class Command(BaseCommand):
    help = "Enroll face images from a folder tree (person_name/image.jpg) or a zip of one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="a dataset folder or .zip file")
        parser.add_argument("--person", help="every image belongs to this person (a flat folder of one person)")
        parser.add_argument("--no-wait", action="store_true", help="with workers: queue the batch and return")
        parser.add_argument("--timeout", type=float, default=0, help="with workers: stop waiting after N seconds")

    def handle(self, *args, path: Path, person: str | None, no_wait: bool, timeout: float, **options) -> None:
        self.verbosity = int(options.get("verbosity", 1))
        items = self._reader(path, person)
        if person is not None and not person.strip():
            raise CommandError("--person needs a name")
        try:
            target = enrollment.person_for_name(person) if person else None
        except ValueError as exc:  # NameUnavailable: an account's Person, the recycle bin, consent withdrawn
            raise CommandError(str(exc)) from None
        eager = settings.CELERY_TASK_ALWAYS_EAGER
        analyzer = self._analyzer() if eager else None  # before anything is stored: missing models fail fast
        with acting_as(command_actor("enroll")):
            batch = enrollment.start_enrollment(items, source=Source.IMPORT, person=target, queue=not eager)
        if eager:
            self._process_here(batch, analyzer)
        elif no_wait:
            self.stdout.write(f"batch #{batch.pk} queued for the workers (queue 'enroll')")
            return
        else:
            self._follow(batch, timeout)
        self._summary(batch)

    def _reader(self, path: Path, person: str | None):
        limits = enrollment.upload_limits()
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        if path.is_dir():
            return read_folder(path, person_name=person, limits=limits)
        if not zipfile.is_zipfile(path):
            raise CommandError(f"{path} is neither a folder nor a readable zip file")
        try:
            zipfile.ZipFile(path).close()
        except (zipfile.BadZipFile, OSError) as exc:
            raise CommandError(f"{path} is not a readable zip file ({exc})") from None
        return read_zip(path, person_name=person, limits=limits)

    def _analyzer(self):
        from recognition.inference import face_analyzer

        try:
            return face_analyzer()
        except Exception as exc:  # ModelMissing / ModelCorrupt say which file and how to fetch it
            raise CommandError(str(exc)) from exc

    def _process_here(self, batch: Enrollment, analyzer) -> None:
        ids = list(batch.images.filter(status=FaceImage.Status.PENDING).order_by("pk").values_list("pk", flat=True))
        size = max(1, recognition_settings().enroll_chunk_size)
        with tqdm(total=len(ids), unit="img", desc=f"batch #{batch.pk}", disable=None) as bar:
            for start in range(0, len(ids), size):
                chunk = ids[start : start + size]
                enrollment.enroll_images(chunk, analyzer, on_progress=lambda _done: bar.update(1))

    def _follow(self, batch: Enrollment, timeout: float) -> None:
        deadline = time.monotonic() + timeout if timeout > 0 else None
        total = batch_progress(batch).total
        with tqdm(total=total, unit="img", desc=f"batch #{batch.pk} (workers)", disable=None) as bar:
            while True:
                batch.refresh_from_db()
                progress = batch_progress(batch)
                bar.update(progress.processed - bar.n)
                if batch.state == Enrollment.State.DONE or progress.pending == 0:
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise CommandError(
                        f"batch #{batch.pk}: {progress.pending} of {progress.total} images still pending after "
                        f"{timeout:.0f} s; are workers running on queue 'enroll'? They continue it when they start."
                    )
                time.sleep(0.5)

    def _summary(self, batch: Enrollment) -> None:
        batch.refresh_from_db()
        progress = batch_progress(batch)
        self.stdout.write(
            f"batch #{batch.pk}: {progress.enrolled} enrolled, {progress.rejected} rejected, "
            f"{len(batch.errors)} refused, {batch.duplicates} duplicates (already enrolled, unchanged)"
        )
        rejected = batch.images.filter(status=FaceImage.Status.REJECTED).order_by("pk")
        reasons = Counter(rejected.values_list("reject_reason", flat=True))
        for reason, count in reasons.most_common():
            names = rejected.filter(reject_reason=reason).values_list("original_name", flat=True)[:5]
            more = ", ..." if count > 5 else ""
            self.stdout.write(f"  rejected x{count}: {reason} ({', '.join(names)}{more})")
        shown = batch.errors if self.verbosity > 1 else batch.errors[:20]
        for error in shown:
            self.stdout.write(f"  refused: {error['file'] or '(the upload)'}: {error['error']}")
        if len(batch.errors) > len(shown):
            self.stdout.write(f"  ... and {len(batch.errors) - len(shown)} more refused (-v 2 lists them all)")
        whole = [error["error"] for error in batch.errors if not error["file"]]
        if whole:  # the upload as a whole was refused or cut short (empty, too many files, zip bomb)
            raise CommandError(f"batch #{batch.pk}: {'; '.join(whole)}")
