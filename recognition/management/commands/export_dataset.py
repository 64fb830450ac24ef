"""`manage.py export_dataset DIR`: write the gallery back out as the dataset layout `enroll` reads.

DIR/<person name>/<image> with the stored bytes unchanged, so `enroll DIR` on another installation gives the same
people and images. People and images in the recycle bin are left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import Action
from audit.services import Target, command_actor, record
from recognition.models import FaceImage, Person

# Characters a folder or file name cannot hold, written as look-alikes that `enroll` folds back into the same
# person slug (NFKC maps the full-width forms to the ASCII ones, which slugify then drops).
_UNSAFE = {"/": "\uff0f", "\\": "\uff3c", "\x00": ""}
_SAME_FORMAT = {".jpeg": ".jpg", ".tiff": ".tif"}  # suffixes that name the format stored under another one


def safe_name(name: str) -> str:
    """A single path component for a display name or file name: no separators, not hidden, not '.' or '..'."""
    for char, replacement in _UNSAFE.items():
        name = name.replace(char, replacement)
    name = name.strip()
    if name.startswith("."):
        name = "\uff0e" + name[1:]  # a leading dot would make `enroll` skip it as a hidden file
    return name[:200]


class Command(BaseCommand):
    help = "Write enrolled images to DIR/<person name>/<image> (the layout `enroll` reads), bytes unchanged."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--all", action="store_true", help="also pending and rejected images")
        parser.add_argument("--force", action="store_true", help="write into a folder that is not empty")

    def handle(self, *args, directory: Path, all: bool, force: bool, **options) -> None:
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} exists and is not a folder")
        if directory.is_dir() and any(directory.iterdir()) and not force:
            raise CommandError(f"{directory} is not empty (use --force to write into it anyway)")
        directory.mkdir(parents=True, exist_ok=True)
        statuses = [FaceImage.Status.ENROLLED]
        if all:
            statuses += [FaceImage.Status.PENDING, FaceImage.Status.REJECTED]
        people = Person.objects.filter(deleted_at__isnull=True, images__status__in=statuses).distinct()
        folders: set[str] = set()
        written = missing = 0
        for person in people.order_by("display_name", "pk"):
            folder = self._unique(safe_name(person.display_name) or person.slug, folders, person.slug, folder=True)
            target = directory / folder
            target.mkdir(exist_ok=True)
            names: set[str] = set()
            for image in person.images.filter(status__in=statuses).order_by("pk"):
                name = self._unique(self._file_name(image), names, image.sha256[:12])
                try:
                    with image.file.open("rb") as source, (target / name).open("wb") as sink:
                        shutil.copyfileobj(source, sink)
                except FileNotFoundError:
                    missing += 1
                    self.stderr.write(f"missing file for image {image.pk} of {person}: {image.file.name}")
                    continue
                written += 1
        record(None, Action.DATA_EXPORT, Target("recognition.faceimage", label=str(directory.resolve())),
               actor_name=command_actor("export_dataset"), images=written, people=len(folders),
               statuses=list(statuses), missing=missing)  # fmt: skip
        self.stdout.write(f"exported {written} images of {len(folders)} people to {directory}")
        if missing:
            raise CommandError(f"{missing} stored file(s) were missing; see the messages above")

    @staticmethod
    def _file_name(image: FaceImage) -> str:
        """The uploaded file's name made safe; its suffix only when it names the format really stored."""
        stored_suffix = PurePosixPath(image.file.name).suffix.lower()
        original = PurePosixPath((image.original_name or "").replace("\\", "/")).name
        stem = safe_name(PurePosixPath(original).stem)
        suffix = PurePosixPath(original).suffix.lower()
        if _SAME_FORMAT.get(suffix, suffix) != stored_suffix:
            suffix = stored_suffix
        return f"{stem or image.sha256[:16]}{suffix}"

    @staticmethod
    def _unique(name: str, taken: set[str], tag: str, *, folder: bool = False) -> str:
        """`name`, or `name` with a tag added when it is taken (compared case-insensitively, for filesystems
        that fold case)."""
        stem, suffix = (name, "") if folder else (PurePosixPath(name).stem, PurePosixPath(name).suffix)
        candidate, n = name, 1
        while candidate.lower() in taken:
            candidate = f"{stem} ({tag}){suffix}" if n == 1 else f"{stem} ({tag}-{n}){suffix}"
            n += 1
        taken.add(candidate.lower())
        return candidate
