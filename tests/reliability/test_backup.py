"""`manage.py backup` / `restore`: one file with the database and the media, restored into a fresh database.

The backup is made from the test database (real pg_dump from the embedded PostgreSQL's binaries) and restored
into a scratch database created on the same server, then read back with plain SQL.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from facesite.backup import BackupError, create_backup, restore_backup
from recognition.models import FaceEmbedding, FaceImage, Person

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump is another process: the rows must be committed


def conninfo(params: dict, name: str) -> str:
    return psycopg.conninfo.make_conninfo(host=params["HOST"], port=params["PORT"], user=params["USER"],
                                          password=params["PASSWORD"], dbname=name)  # fmt: skip


@pytest.fixture
def scratch_database() -> Iterator[dict]:
    """An empty database on the test database's server, dropped afterwards."""
    params = dict(connection.settings_dict)
    name = f"scratch_restore_{os.getpid()}"
    with psycopg.connect(conninfo(params, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield {**params, "NAME": name}
    with psycopg.connect(conninfo(params, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def gallery(media_root: Path) -> dict[str, list[tuple[bytes, np.ndarray]]]:
    """Two people with face image files and 512-d embeddings, as an enrollment leaves them."""
    rng = np.random.default_rng(7)
    made: dict[str, list[tuple[bytes, np.ndarray]]] = {}
    for name in ("Ada Lovelace", "Alan Turing"):
        person = Person.objects.create(display_name=name, slug=name.lower().replace(" ", "-"))
        for k in range(3):
            data = f"jpeg bytes of {name} #{k}".encode() + rng.bytes(64)
            image = FaceImage(person=person, sha256=f"{name}{k}".ljust(64, "0")[:64], source="import",
                              status=FaceImage.Status.ENROLLED, original_name=f"{k}.jpg")  # fmt: skip
            image.file.save(f"{k}.jpg", ContentFile(data), save=True)
            vector = rng.standard_normal(512).astype(np.float32)
            vector /= np.linalg.norm(vector)
            FaceEmbedding.objects.create(
                face_image=image, person=person, model_name="arcface_mbf", vector=vector
            )
            made.setdefault(name, []).append((data, vector))
    return made


def read_back(database: dict) -> dict[str, list[tuple[str, np.ndarray]]]:
    """name -> [(file name, vector)] straight from a database, without Django."""
    rows = {}
    with psycopg.connect(conninfo(database, database["NAME"])) as conn:
        for name, file, vector in conn.execute(
            "SELECT p.display_name, i.file, e.vector::text FROM recognition_faceembedding e "
            "JOIN recognition_faceimage i ON i.id = e.face_image_id "
            "JOIN recognition_person p ON p.id = e.person_id "
            "ORDER BY p.display_name, i.id"
        ):
            rows.setdefault(name, []).append(
                (file, np.array(vector.strip("[]").split(","), dtype=np.float32))
            )
    return rows


def test_backup_restores_into_a_fresh_database_with_the_same_people_embeddings_and_files(
    media_root: Path, tmp_path: Path, scratch_database: dict
) -> None:
    made = gallery(media_root)
    archive = create_backup(tmp_path / "backups")
    assert archive.name.startswith("facesite-") and archive.suffix == ".tar"
    assert archive.stat().st_mode & 0o077 == 0  # biometric data: readable by the owner only
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"backup.json", "db.dump"} <= set(names)
    assert sum(n.startswith("media/faces/") for n in names) == 6

    # members a tampered archive might carry: a path out of the media folder, a symlink
    with tarfile.open(archive, "a") as tar:
        escape = tarfile.TarInfo("media/../escaped.txt")  # would land in tmp_path
        escape.size = 4
        tar.addfile(escape, io.BytesIO(b"evil"))
        link = tarfile.TarInfo("media/faces/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)

    restored_media = tmp_path / "restored-media"
    result = restore_backup(archive, database=scratch_database, media_root=restored_media)
    assert result.media_files == 6
    assert not (tmp_path / "escaped.txt").exists() and not (restored_media / "faces" / "link.jpg").exists()

    source, copy = read_back(dict(connection.settings_dict)), read_back(scratch_database)
    assert sorted(copy) == sorted(made) == sorted(source)
    for name, images in made.items():
        assert len(copy[name]) == len(images)
        for (file, vector), (data, original) in zip(copy[name], images, strict=True):
            np.testing.assert_array_equal(vector, original)  # float32 vectors survive exactly
            assert (restored_media / file).read_bytes() == data

    # A second restore into what is now a non-empty database (and media folder) is refused, nothing touched...
    with pytest.raises(BackupError, match="not empty.*--force"):
        restore_backup(archive, database=scratch_database, media_root=tmp_path / "other-media")
    with pytest.raises(BackupError, match="already holds files.*--force"):
        restore_backup(archive, database={**scratch_database, "NAME": "postgres"}, media_root=restored_media)
    assert not (tmp_path / "other-media").exists()
    # ... unless forced: the backup's objects are replaced, so nothing is doubled
    restore_backup(archive, database=scratch_database, media_root=restored_media, force=True)
    assert {k: len(v) for k, v in read_back(scratch_database).items()} == {
        "Ada Lovelace": 3,
        "Alan Turing": 3,
    }


def test_the_commands_write_a_backup_and_refuse_to_restore_over_a_live_database(
    media_root: Path, tmp_path: Path
) -> None:
    gallery(media_root)
    out = io.StringIO()
    call_command("backup", "--dir", str(tmp_path), stdout=out)
    archives = list(tmp_path.glob("facesite-*.tar"))
    assert len(archives) == 1 and f"backup written: {archives[0]}" in out.getvalue()
    with pytest.raises(CommandError, match="not empty.*--force"):
        call_command("restore", str(archives[0]), stdout=io.StringIO())
    assert Person.objects.count() == 2


def test_a_file_that_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "facesite-bogus.tar"
    with tarfile.open(bogus, "w") as tar:
        info = tarfile.TarInfo("media/../../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BackupError, match="not a facesite backup"):
        restore_backup(bogus, media_root=tmp_path / "media")
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all")
    with pytest.raises(BackupError, match="cannot read"):
        restore_backup(tmp_path / "junk.tar", media_root=tmp_path / "media")
