"""Retention: the recycle bin and attendance face crops are purged after their periods by Celery beat tasks.

The tasks run eagerly here (no REDIS_URL); the last test runs a real worker with --beat and watches the purge
happen without anyone calling the task.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.utils import timezone

from attendance import services as attendance_services
from attendance import tasks as attendance_tasks
from attendance.models import AttendanceEvent
from facesite.celery import app
from recognition import tasks as recognition_tasks
from recognition.models import FaceImage, Person
from recognition.services import lifecycle
from tests.attendance.factories import BOX, frame
from tests.support.services import REPO, service_env, stop_process, test_database_url


def binned_image(person: Person, name: str, days_in_bin: float) -> FaceImage:
    """An enrolled image with a real file, moved to the recycle bin `days_in_bin` days ago."""
    image = FaceImage(person=person, sha256=name.ljust(64, "0"), source="import", status=FaceImage.Status.ENROLLED)
    image.file.save(f"{name}.jpg", ContentFile(b"\xff\xd8\xff" + name.encode()), save=True)
    lifecycle.move_images_to_recycle_bin([image])
    FaceImage.objects.filter(pk=image.pk).update(deleted_at=timezone.now() - timedelta(days=days_in_bin))
    return image


def test_the_beat_schedule_names_registered_tasks_on_a_queue_workers_take() -> None:
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    tasks = {entry["task"] for entry in schedule.values()}
    assert tasks == {"recognition.tasks.purge_recycle_bin", "attendance.tasks.purge_expired_evidence",
                     "recognition.tasks.resume_enrollments", "facesite.tasks.clear_sessions",
                     "facesite.tasks.prune_backups", "integrations.tasks.requeue_due_deliveries",
                     "integrations.tasks.purge_old_deliveries"}  # fmt: skip
    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)
    for name in tasks:
        queue = app.amqp.router.route({}, name)["queue"].name
        assert queue in django_settings.CELERY_WORKER_QUEUES, (name, queue)


@pytest.mark.django_db(transaction=True)
def test_recycle_bin_older_than_the_retention_is_purged_newer_kept(settings, media_root: Path) -> None:
    settings.RECYCLE_BIN_RETENTION_DAYS = 1
    person = Person.objects.create(display_name="Ada", slug="ada")
    old = binned_image(person, "old", days_in_bin=2)
    new = binned_image(person, "new", days_in_bin=0.5)
    enrolled = FaceImage.objects.create(person=person, sha256="k" * 64, source="import",
                                        status=FaceImage.Status.ENROLLED, file="faces/kept.jpg")  # fmt: skip
    old_file, new_file = Path(old.file.path), Path(new.file.path)
    assert old_file.exists() and new_file.exists()

    assert recognition_tasks.purge_recycle_bin.delay().get() == 1

    assert not FaceImage.objects.filter(pk=old.pk).exists() and not old_file.exists()
    assert FaceImage.objects.filter(pk=new.pk, status=FaceImage.Status.DELETED).exists() and new_file.exists()
    assert FaceImage.objects.filter(pk=enrolled.pk).exists()
    # a person in the bin longer than the period, with no images left, goes too
    gone = Person.objects.create(display_name="Gone", slug="gone", deleted_at=timezone.now() - timedelta(days=3))
    recognition_tasks.purge_recycle_bin.delay()
    assert not Person.objects.filter(pk=gone.pk).exists() and Person.objects.filter(pk=person.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_evidence_older_than_the_retention_is_purged_newer_kept(settings, media_root: Path) -> None:
    settings.EVIDENCE_RETENTION_DAYS = 1
    person = Person.objects.create(display_name="Bo", slug="bo")
    now = timezone.now()

    def seen(at, source):
        return attendance_services.record_presence(
            person_id=person.pk,
            source=source,
            score=0.6,
            margin=0.1,
            frame_bgr=frame(),
            box=BOX,
            stream="s",
            at=at,
        )

    old, new = seen(now - timedelta(days=2), "camera"), seen(now - timedelta(hours=1), "kiosk")
    old_file, new_file = Path(old.evidence.path), Path(new.evidence.path)
    assert old_file.exists() and new_file.exists()

    assert attendance_tasks.purge_expired_evidence.delay().get() == 1

    old.refresh_from_db()
    new.refresh_from_db()
    assert not old.evidence and not old_file.exists()
    assert new.evidence and new_file.exists()
    assert AttendanceEvent.objects.filter(pk=old.pk).exists()  # the event stays, only its crop goes


@pytest.mark.services
def test_a_worker_with_beat_purges_without_being_asked(transactional_db, redis_url: str, media_root: Path,
                                                       tmp_path: Path, settings) -> None:  # fmt: skip
    settings.RECYCLE_BIN_RETENTION_DAYS = 1
    person = Person.objects.create(display_name="Cy", slug="cy")
    expired = binned_image(person, "expired", days_in_bin=5)
    kept = binned_image(person, "kept", days_in_bin=0.1)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "facesite", "worker", "--beat", "--schedule",
         str(tmp_path / "beat"), "--pool", "solo", "-Q", "celery,enroll", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT,
        env=service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url,
                        FACESITE_MEDIA_ROOT=str(media_root),
                        RECYCLE_BIN_RETENTION_DAYS="1", RETENTION_PURGE_INTERVAL_S="1"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while FaceImage.objects.filter(pk=expired.pk).exists():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"beat did not purge the expired image:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
    finally:
        stop_process(worker)
    assert FaceImage.objects.filter(pk=kept.pk, status=FaceImage.Status.DELETED).exists()
    assert not (media_root / expired.file.name).exists() and (media_root / kept.file.name).exists()
    assert "recognition.tasks.purge_recycle_bin" in log.read_text()
