"""Erasure leaves nothing behind: files, rows, sessions, backups.

Each test plays one way data used to survive an erasure: deleting the account (the Person stayed searchable, the
consent record vanished), the face template in django_session during a capture, another browser session still
sending capture frames, recycle-bin retention without the erasure signal, an attendance event deleted in the
admin leaving its crop, backups kept for ever, and a restore bringing erased people back.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Consent
from attendance.models import AttendanceEvent
from facesite.backup import create_backup, list_backups, prune_backups, restore_backup
from recognition.models import ErasedPerson, FaceEmbedding, FaceImage, Person
from recognition.services import erasures, lifecycle
from tests.security.conftest import World, face_image


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.is_dir() else set()


def embed(image: FaceImage) -> None:
    vector = [0.0] * 512
    vector[image.pk % 512] = 1.0
    FaceEmbedding.objects.create(face_image=image, person=image.person, model_name="arcface_mbf", vector=vector)


@pytest.fixture
def ledger(settings, tmp_path: Path) -> Path:
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.ERASURE_LEDGER = settings.BACKUP_DIR / "erasures.jsonl"
    return settings.ERASURE_LEDGER


# --- deleting an account -----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)  # files are deleted on commit
def test_deleting_an_account_erases_its_face_data_and_keeps_the_consent_as_evidence(world: World, ledger) -> None:
    ann, person = world.users["member"], world.person
    embed(world.image)
    crop, image_file = world.event.evidence.path, world.image.file.path
    consent_id, account_id = Consent.objects.get(user=ann).pk, ann.pk

    response = world.client("admin").post(f"/admin/auth/user/{ann.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    assert not Person.objects.filter(pk=person.pk).exists()  # not searchable by any name or face
    assert not FaceImage.objects.filter(person_id=person.pk).exists()
    assert not FaceEmbedding.objects.filter(person_id=person.pk).exists()
    assert not os.path.exists(image_file) and not os.path.exists(crop)
    event = AttendanceEvent.objects.get(pk=world.event.pk)
    assert event.person_id is None and event.anonymous_key and not event.evidence and not event.emotion
    consent = Consent.objects.get(pk=consent_id)  # kept, detached, withdrawn
    assert consent.user_id is None and consent.account_id == account_id and consent.withdrawn_at is not None
    assert ErasedPerson.objects.filter(person_id=person.pk, person_kept=False).exists()
    assert [t.person_id for t in erasures.read_ledger()] == [person.pk]


# --- the capture: no template in the session, no frames after withdrawal -------------------------------------
@pytest.fixture(scope="module")
def analyzer():
    from django.conf import settings

    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:
        return face_analyzer(settings.FACE_MODEL_PACK)
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"models not available ({exc}); run `python manage.py fetch_models`")


def frame_upload(faces_data: Path, number: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.accounts.conftest import SIGNUP_SET, jpeg, photo_frames

    frame = photo_frames(faces_data, SIGNUP_SET, [number])[0]
    return SimpleUploadedFile("frame.jpg", jpeg(frame), content_type="image/jpeg")


@pytest.mark.django_db
@pytest.mark.parametrize("liveness", [False, True], ids=["photo-kept", "liveness-started"])
def test_a_capture_keeps_no_face_template_in_the_session(world: World, faces_data: Path, analyzer, settings,
                                                         liveness: bool) -> None:  # fmt: skip
    """Neither a kept photo's template nor the face that starts the liveness challenge sits in the session."""
    settings.SIGNUP_FRAME_INTERVAL_MS = 0
    settings.LIVENESS_REQUIRED = liveness
    ann = world.users["member"]
    client = Client()
    client.force_login(ann)
    assert client.post("/accounts/capture/start/", {"mode": "add"}).status_code == 200
    reply = client.post("/accounts/capture/frame/", {"frame": frame_upload(faces_data, 1)}).json()
    assert reply["reason"] == "liveness check" if liveness else reply["kept"], reply

    stored = Session.objects.get(session_key=client.session.session_key).get_decoded()

    def floats(value) -> int:  # the longest list of floats anywhere in the session data
        if isinstance(value, dict):
            return max((floats(v) for v in value.values()), default=0)
        if isinstance(value, list):
            inner = max((floats(v) for v in value), default=0)
            return max(inner, len(value) if value and all(isinstance(v, float) for v in value) else 0)
        return 0

    assert floats(stored) < 64, "a face template (512 floats) sits in django_session"
    capture_dir = Path(settings.SIGNUP_PENDING_DIR) / str(ann.pk)
    assert any(capture_dir.rglob("reference.npy"))  # server-side, beside the kept frames
    services.withdraw_consent(ann)
    assert not capture_dir.exists()


@pytest.mark.django_db
def test_another_session_cannot_keep_sending_frames_after_consent_is_withdrawn(
    world: World, faces_data: Path, analyzer, settings
) -> None:
    settings.SIGNUP_FRAME_INTERVAL_MS = 0
    ann = world.users["member"]
    laptop, phone = Client(), Client()
    laptop.force_login(ann)
    phone.force_login(ann)
    assert laptop.post("/accounts/capture/start/", {"mode": "add"}).status_code == 200
    assert phone.post("/accounts/profile/erase/", {"confirm": "yes"}).status_code == 302  # withdrawn on the phone

    response = laptop.post("/accounts/capture/frame/", {"frame": frame_upload(faces_data, 1)})
    assert response.status_code == 403 and "consent" in response.json()["error"]
    assert files_under(Path(settings.SIGNUP_PENDING_DIR)) == set()


def test_expired_sessions_are_cleared_by_celery_beat(settings, db) -> None:
    from facesite.tasks import clear_sessions

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "facesite.tasks.clear_sessions" in tasks
    Session.objects.create(session_key="x" * 32, session_data="e30:", expire_date=timezone.now() - timedelta(1))
    Session.objects.create(session_key="y" * 32, session_data="e30:", expire_date=timezone.now() + timedelta(1))
    clear_sessions()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["y" * 32]


# --- retention and the admin -------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_recycle_bin_retention_erases_people_through_the_erasure_path(world: World, ledger) -> None:
    person = world.person
    world.event.emotion = "happy"
    world.event.save()
    crop = world.event.evidence.path
    lifecycle.move_person_to_recycle_bin(person)
    Person.objects.filter(pk=person.pk).update(deleted_at=timezone.now() - timedelta(days=40))
    FaceImage.objects.filter(person=person).update(deleted_at=timezone.now() - timedelta(days=40))

    lifecycle.purge_expired(30)

    assert not Person.objects.filter(pk=person.pk).exists()
    event = AttendanceEvent.objects.get(pk=world.event.pk)
    assert event.person_id is None and not event.evidence and event.emotion == "" and event.anonymous_key
    assert not os.path.exists(crop)
    assert ErasedPerson.objects.filter(person_id=person.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_deleting_an_attendance_event_in_the_admin_deletes_its_crop(world: World) -> None:
    crop = world.event.evidence.path
    assert os.path.exists(crop)
    admin = world.client("admin")
    url = f"/admin/attendance/attendanceevent/{world.event.pk}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not AttendanceEvent.objects.filter(pk=world.event.pk).exists()
    assert not os.path.exists(crop)


# --- backups -----------------------------------------------------------------------------------------------
def conninfo(params: dict, name: str) -> str:
    return psycopg.conninfo.make_conninfo(host=params["HOST"], port=params["PORT"], user=params["USER"],
                                          password=params["PASSWORD"], dbname=name)  # fmt: skip


@pytest.fixture
def scratch_database() -> Iterator[dict]:
    params = dict(connection.settings_dict)
    name = f"scratch_erasure_{os.getpid()}"
    with psycopg.connect(conninfo(params, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield {**params, "NAME": name}
    with psycopg.connect(conninfo(params, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def people_in(database: dict) -> dict[int, tuple[int, int]]:
    """person id -> (images, embeddings), straight from a database."""
    with psycopg.connect(conninfo(database, database["NAME"])) as conn:
        rows = conn.execute(
            "SELECT p.id, (SELECT count(*) FROM recognition_faceimage i WHERE i.person_id = p.id), "
            "(SELECT count(*) FROM recognition_faceembedding e WHERE e.person_id = p.id) FROM recognition_person p"
        ).fetchall()
    return {pid: (images, embeddings) for pid, images, embeddings in rows}


@pytest.mark.django_db(transaction=True)  # pg_dump is another process: the rows must be committed
def test_a_restore_of_a_backup_taken_before_an_erasure_erases_again_unless_told(
    world: World, ledger: Path, tmp_path: Path, scratch_database: dict, settings
) -> None:
    ann, bob_person = world.users["member"], Person.objects.get(slug="bob-baker")
    embed(world.image)
    bob_image = face_image(bob_person, world.batch, (10, 200, 10))
    embed(bob_image)
    before = create_backup()
    assert json.loads(_manifest(before))["erased_person_ids"] == []

    services.withdraw_consent(ann)  # Ann erased after the backup
    after = create_backup()
    assert json.loads(_manifest(after))["erased_person_ids"] == [world.person.pk]
    marks = {info.path: info.erased_since for info in list_backups()}
    assert marks == {before: (world.person.pk,), after: ()}  # the older backup still holds Ann
    out = io.StringIO()
    call_command("backup", "--list", stdout=out)
    assert f"{before.name}" in out.getvalue() and "predates the erasure of 1 people" in out.getvalue()

    # Disaster: the database is lost; only the backups folder (and its erasure ledger) remain.
    restored_media = tmp_path / "restored"
    result = restore_backup(before, database=scratch_database, media_root=restored_media)
    people = people_in(scratch_database)
    assert world.person.pk not in people  # not resurrected
    assert people[bob_person.pk] == (1, 1)  # everyone else is back
    assert result.erased_again == (world.person.pk,)
    assert not any(name.startswith(f"faces/{world.person.pk}/") for name in files_under(restored_media))
    assert world.event.evidence.name not in files_under(restored_media)
    assert bob_image.file.name in files_under(restored_media)
    with psycopg.connect(conninfo(scratch_database, scratch_database["NAME"])) as conn:
        event = conn.execute("SELECT person_id, evidence, anonymous_key FROM attendance_attendanceevent").fetchone()
        assert event[0] is None and event[1] == "" and event[2].startswith("anon-")
        assert conn.execute("SELECT person_id FROM recognition_erasedperson").fetchall() == [(world.person.pk,)]
        next_id = conn.execute("SELECT nextval(pg_get_serial_sequence('recognition_person', 'id'))").fetchone()[0]
        assert next_id > world.person.pk  # a new person never takes an erased person's id

    # Told to (a mistaken erasure): they come back as the backup holds them.
    again = restore_backup(before, database=scratch_database, media_root=restored_media, force=True,
                           allow_erased=True)  # fmt: skip
    assert again.erased_restored == (world.person.pk,)
    assert people_in(scratch_database)[world.person.pk] == (2, 1)


def _manifest(archive: Path) -> bytes:
    import tarfile

    with tarfile.open(archive) as tar:
        return tar.extractfile("backup.json").read()


@pytest.mark.django_db(transaction=True)
def test_backups_expire(ledger: Path, settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BACKUP_RETENTION_DAYS = 30
    old = create_backup()
    assert prune_backups() == []  # fresh
    later = datetime.now(UTC) + timedelta(days=31)
    assert prune_backups(now=later) == [old] and not old.exists()
    settings.BACKUP_RETENTION_DAYS = 0  # keep for ever
    kept = create_backup()
    assert prune_backups(now=later) == [] and kept.exists()
    assert "facesite.tasks.prune_backups" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


def test_the_ledger_holds_ids_and_times_only(ledger: Path, db) -> None:
    erasures.append_to_ledger([erasures.Tombstone(7, timezone.now(), False)])
    line = json.loads(ledger.read_text())
    assert set(line) == {"person_id", "erased_at", "person_kept"}
    assert ledger.stat().st_mode & 0o077 == 0
