"""Reading what people hand us for enrollment: a dataset folder, a .zip of one, or loose files.

The layout is the original project's dataset: person_name/image1.jpg, person_name/image2.jpg, ...
Every file becomes either an UploadItem or an UploadError; nothing is dropped silently. Zip files are read
defensively: absolute paths, '..' parts and symlinks are refused, and the number of files and the bytes really
read (not the sizes the archive claims) are capped, so a zip bomb stops early with an error.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class UploadLimits:
    max_files: int = 10_000
    max_file_bytes: int = 20 * 1024 * 1024
    max_total_bytes: int = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class UploadItem:
    person_name: str
    filename: str  # for display only; never used as a storage path
    data: bytes


@dataclass(frozen=True)
class UploadError:
    filename: str
    error: str


class UploadRejected(ValueError):
    """The upload as a whole cannot be read (not a zip, too many files, too large)."""


def clean_person_name(raw: str) -> str:
    """A display name from a folder name: whitespace collapsed, underscores as spaces, length capped."""
    name = " ".join(raw.replace("_", " ").split())
    return name[:200]


def _is_hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts) or parts[-1] in IGNORED_NAMES


def _split(relative: PurePosixPath, person_name: str | None) -> tuple[str, str] | str:
    """(person, filename) from a path inside the dataset, or a reason it does not fit the layout."""
    parts = relative.parts
    if person_name is not None:
        return person_name, parts[-1]
    if len(parts) < 2:
        return "not inside a person's folder (expected person_name/image.jpg)"
    person = clean_person_name(parts[-2])
    if not person:
        return "the person's folder name is empty"
    return person, parts[-1]


def read_zip(file: BinaryIO | Path, *, person_name: str | None = None,
             limits: UploadLimits = UploadLimits()) -> Iterator[UploadItem | UploadError]:  # fmt: skip
    """Items of a dataset zip. With person_name, every image belongs to that person (a flat zip is fine)."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRejected(f"not a readable zip file ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.max_files:
            raise UploadRejected(f"the zip holds {len(members)} files; at most {limits.max_files} are accepted")
        total = 0
        for member in members:
            name = member.filename
            path = PurePosixPath(name.replace("\\", "/"))
            if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
                yield UploadError(name, "absolute path refused")
                continue
            if ".." in path.parts:
                yield UploadError(name, "path with '..' refused")
                continue
            if stat.S_ISLNK(member.external_attr >> 16):
                yield UploadError(name, "symbolic link refused")
                continue
            if _is_hidden(path.parts):
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                yield UploadError(name, "not an image file (by its extension)")
                continue
            where = _split(path, person_name)
            if isinstance(where, str):
                yield UploadError(name, where)
                continue
            budget = min(limits.max_file_bytes, limits.max_total_bytes - total)
            try:
                with archive.open(member) as stream:
                    data = stream.read(budget + 1)  # read at most one byte past the budget, whatever it claims
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                yield UploadError(name, f"cannot be read from the zip ({exc})")
                continue
            if len(data) > budget:
                if budget < limits.max_file_bytes:
                    raise UploadRejected(
                        f"the zip unpacks to more than {limits.max_total_bytes} bytes; refused as a possible zip bomb"
                    )
                yield UploadError(name, f"larger than {limits.max_file_bytes} bytes")
                continue
            total += len(data)
            yield UploadItem(where[0], where[1], data)


def read_folder(root: Path, *, person_name: str | None = None,
                limits: UploadLimits = UploadLimits()) -> Iterator[UploadItem | UploadError]:  # fmt: skip
    """Items of a dataset folder tree on disk (the CLI). Symlinks are not followed out of the tree."""
    root = root.resolve()
    if not root.is_dir():
        raise UploadRejected(f"{root} is not a folder")
    count = 0
    total = 0
    for path in sorted(root.rglob("*")):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        if path.is_symlink():
            yield UploadError(str(relative), "symbolic link refused")
            continue
        if not path.is_file() or _is_hidden(relative.parts):
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            yield UploadError(str(relative), "not an image file (by its extension)")
            continue
        count += 1
        if count > limits.max_files:
            raise UploadRejected(f"more than {limits.max_files} images in {root}")
        where = _split(relative, person_name)
        if isinstance(where, str):
            yield UploadError(str(relative), where)
            continue
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            yield UploadError(str(relative), f"larger than {limits.max_file_bytes} bytes")
            continue
        total += size
        if total > limits.max_total_bytes:
            raise UploadRejected(f"{root} holds more than {limits.max_total_bytes} bytes of images")
        yield UploadItem(where[0], where[1], path.read_bytes())


def read_files(files: list[tuple[str, BinaryIO]], *, person_name: str | None = None,
               limits: UploadLimits = UploadLimits()) -> Iterator[UploadItem | UploadError]:  # fmt: skip
    """Items of uploaded files; each name is a relative path as a browser's folder picker sends it
    (person_name/image.jpg), or a bare file name when person_name is given."""
    if len(files) > limits.max_files:
        raise UploadRejected(f"{len(files)} files uploaded; at most {limits.max_files} are accepted")
    total = 0
    for name, stream in files:
        path = PurePosixPath(name.replace("\\", "/"))
        parts = tuple(p for p in path.parts if p not in ("", "/"))
        if not parts or ".." in parts:
            yield UploadError(name, "unusable file name")
            continue
        if _is_hidden(parts):
            continue
        path = PurePosixPath(*parts)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            yield UploadError(name, "not an image file (by its extension)")
            continue
        where = _split(path, person_name)
        if isinstance(where, str):
            yield UploadError(name, where)
            continue
        data = stream.read(limits.max_file_bytes + 1)
        if len(data) > limits.max_file_bytes:
            yield UploadError(name, f"larger than {limits.max_file_bytes} bytes")
            continue
        total += len(data)
        if total > limits.max_total_bytes:
            raise UploadRejected(f"the upload is larger than {limits.max_total_bytes} bytes")
        yield UploadItem(where[0], where[1], data)
