"""recognition.uploads: reading a dataset folder, a zip of one, or loose files, defensively (no database)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from recognition.uploads import (
    UploadError,
    UploadItem,
    UploadLimits,
    UploadRejected,
    clean_person_name,
    read_files,
    read_folder,
    read_zip,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8ffff3f0005fe02fea7356d8a0000000049454e44ae426082"
)  # a valid 1x1 PNG; these tests are about names and sizes, not pixels


def make_zip(members: dict[str, bytes], **options) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, **options) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name exactly as given
    buffer.seek(0)
    return buffer


def split(results) -> tuple[list[UploadItem], list[UploadError]]:
    results = list(results)
    return [r for r in results if isinstance(r, UploadItem)], [r for r in results if isinstance(r, UploadError)]


def test_zip_dataset_layout_gives_one_item_per_image_with_its_person() -> None:
    items, errors = split(read_zip(make_zip({"Ada_Lovelace/1.png": PNG, "Zoë Ångström/2.PNG": PNG})))
    assert errors == []
    assert [(i.person_name, i.filename, i.data) for i in items] == [
        ("Ada Lovelace", "1.png", PNG), ("Zoë Ångström", "2.PNG", PNG)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil/1.png", "'..'"),
        ("person/../../evil.png", "'..'"),
        ("..\\evil\\1.png", "'..'"),
        ("/etc/person/1.png", "absolute"),
        ("\\\\server\\share\\1.png", "absolute"),
        ("C:/Users/person/1.png", "absolute"),
    ],
)
def test_zip_members_with_unsafe_paths_are_refused_by_name(name: str, reason: str) -> None:
    items, errors = split(read_zip(make_zip({name: PNG, "ok/1.png": PNG})))
    assert [i.person_name for i in items] == ["ok"]
    assert len(errors) == 1 and errors[0].filename == name and reason in errors[0].error


def test_zip_symlink_member_is_refused_and_never_followed() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("person/passwd.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("person/1.png", PNG)
    buffer.seek(0)
    items, errors = split(read_zip(buffer))
    assert [i.filename for i in items] == ["1.png"]
    assert [(e.filename, e.error) for e in errors] == [("person/passwd.png", "symbolic link refused")]


def test_zip_with_more_files_than_allowed_is_refused_before_reading_any() -> None:
    archive = make_zip({f"p/{n}.png": PNG for n in range(11)})
    with pytest.raises(UploadRejected, match="11 files; at most 10"):
        list(read_zip(archive, limits=UploadLimits(max_files=10)))


def write_compressible_zip(path: Path, members: int, member_bytes: int) -> None:
    """A real zip bomb in miniature: members of zeros that deflate about 1000:1, written in streamed chunks."""
    block = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for n in range(members):
            with archive.open(f"bomb/{n}.png", "w", force_zip64=True) as stream:
                left = member_bytes
                while left > 0:
                    stream.write(block[: min(left, len(block))])
                    left -= len(block)


class CountingReads:
    """Counts the bytes zipfile really decompresses and hands to the reader."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.total = 0
        original = zipfile.ZipExtFile.read

        def read(stream, n=-1):
            data = original(stream, n)
            self.total += len(data)
            return data

        monkeypatch.setattr(zipfile.ZipExtFile, "read", read)


def test_zip_bomb_by_total_size_is_refused_after_reading_no_more_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.zip"
    write_compressible_zip(path, members=6, member_bytes=64 * 1024 * 1024)  # 384 MiB unpacked
    assert path.stat().st_size < 2 * 1024 * 1024
    limits = UploadLimits(max_files=100, max_file_bytes=80 * 1024 * 1024, max_total_bytes=100 * 1024 * 1024)
    reads = CountingReads(monkeypatch)
    taken = []
    with pytest.raises(UploadRejected, match="zip bomb"):
        for item in read_zip(path, limits=limits):
            taken.append(item)
    assert len(taken) == 1  # the first member fits; the second crosses the total
    assert reads.total <= limits.max_total_bytes + 1


def test_zip_member_larger_than_the_file_limit_is_refused_alone_without_reading_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.zip"
    write_compressible_zip(path, members=1, member_bytes=256 * 1024 * 1024)
    limits = UploadLimits(max_file_bytes=1024 * 1024)
    reads = CountingReads(monkeypatch)
    items, errors = split(read_zip(path, limits=limits))
    assert items == [] and len(errors) == 1 and "larger than" in errors[0].error
    assert reads.total <= limits.max_file_bytes + 1


def test_zip_that_is_not_a_zip_is_refused_as_a_whole() -> None:
    with pytest.raises(UploadRejected, match="not a readable zip"):
        list(read_zip(io.BytesIO(b"PK\x03\x04 but not really a zip")))


def test_zip_hidden_files_are_skipped_and_non_images_reported() -> None:
    members = {"__MACOSX/p/._1.png": b"x", "p/.DS_Store": b"x", "p/notes.txt": b"hello", "p/1.png": PNG,
               "loose.png": PNG}  # fmt: skip
    items, errors = split(read_zip(make_zip(members)))
    assert [i.filename for i in items] == ["1.png"]
    assert sorted((e.filename, e.error) for e in errors) == [
        ("loose.png", "not inside a person's folder (expected person_name/image.jpg)"),
        ("p/notes.txt", "not an image file (by its extension)"),
    ]


def test_zip_with_person_name_takes_a_flat_zip() -> None:
    items, errors = split(read_zip(make_zip({"1.png": PNG, "sub/2.png": PNG}), person_name="AC/DC"))
    assert errors == [] and [(i.person_name, i.filename) for i in items] == [("AC/DC", "1.png"), ("AC/DC", "2.png")]


def test_folder_tree_symlinks_are_refused_and_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    root = tmp_path / "dataset"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "1.png").write_bytes(PNG)
    (root / "alice" / "link.png").symlink_to(outside / "secret.png")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    items, errors = split(read_folder(root))
    assert [(i.person_name, i.filename) for i in items] == [("alice", "1.png")]
    assert sorted(e.filename for e in errors) == ["alice/link.png", "linked_dir"]
    assert all(e.error == "symbolic link refused" for e in errors)


def test_folder_limits_and_empty_folder(tmp_path: Path) -> None:
    assert list(read_folder(tmp_path)) == []
    for n in range(3):
        (tmp_path / "p").mkdir(exist_ok=True)
        (tmp_path / "p" / f"{n}.png").write_bytes(PNG)
    with pytest.raises(UploadRejected, match="more than 2 images"):
        list(read_folder(tmp_path, limits=UploadLimits(max_files=2)))
    with pytest.raises(UploadRejected, match="is not a folder"):
        list(read_folder(tmp_path / "p" / "0.png"))


def test_loose_files_with_unusable_names_are_refused() -> None:
    files = [("../x/1.png", io.BytesIO(PNG)), ("bob/1.png", io.BytesIO(PNG)), ("", io.BytesIO(PNG))]
    items, errors = split(read_files(files))
    assert [(i.person_name, i.filename) for i in items] == [("bob", "1.png")]
    assert [e.error for e in errors] == ["unusable file name", "unusable file name"]


def test_person_names_from_folders() -> None:
    assert clean_person_name("  Jean_Paul   Sartre ") == "Jean Paul Sartre"
    assert clean_person_name("李小龍") == "李小龍"
    assert len(clean_person_name("x" * 500)) == 200
