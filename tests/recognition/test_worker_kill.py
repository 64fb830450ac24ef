"""Enrollment through real workers: a worker SIGKILLed in the middle of a batch loses no image and gives none two
embeddings; `manage.py enroll` with a broker queues the batch and follows it to the end.

Real Redis, a real worker process (solo pool) on the test database, real photos. The next worker's worker_ready
hook queues every still-pending image again, and, tasks being acks_late, the broker delivers the chunk the killed
worker held once more (visibility timeout shortened here); the image the killed worker had claimed is taken over
once its claim has expired (lease shortened here). Processing is idempotent, so all of that may run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from recognition.models import Enrollment, FaceEmbedding, FaceImage, Source
from recognition.services import enrollment
from recognition.uploads import UploadItem
from tests.support.services import REPO, service_env, stop_process, test_database_url

CHUNK = 4


# The platform's worker (`celery -A facesite worker`), except that the broker looks for the unacknowledged
# messages of dead workers every second instead of every ~100 s (kombu's default sweep), to keep the test short.
WORKER = """
from facesite.celery import app
app.conf.broker_transport_options = {**app.conf.broker_transport_options,
                                     "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
app.worker_main(["worker", "--pool", "solo", "-Q", "celery,enroll", "--loglevel", "INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=REPO, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 90
    while " ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return process


def counts(batch: Enrollment) -> dict[str, int]:
    statuses = list(batch.images.values_list("status", flat=True))
    return {status: statuses.count(status) for status in FaceImage.Status.values}


def half_done(chunks: list[list[int]]) -> int | None:
    """The index of a chunk after the first whose worker has done 1 or 2 of its images, if there is one."""
    done = set(FaceImage.objects.exclude(status=FaceImage.Status.PENDING).values_list("pk", flat=True))
    for index, chunk in enumerate(chunks[1:], 1):
        if 1 <= len(done.intersection(chunk)) <= 2:
            return index
    return None


@pytest.mark.services
def test_a_worker_killed_mid_batch_loses_no_image_and_duplicates_no_embedding(
    transactional_db, redis_url: str, faces_data: Path, tmp_path: Path, settings
) -> None:
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    env = service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url, FACESITE_MEDIA_ROOT=str(media),
                      ENROLL_CHUNK_SIZE=str(CHUNK), CELERY_VISIBILITY_TIMEOUT="5",
                      ENROLL_CLAIM_LEASE_S="3")  # fmt: skip
    people = sorted(p for p in (faces_data / "identities").iterdir() if p.is_dir())
    photos = [sorted(p for p in person.iterdir() if p.is_file())[0] for person in people][:24]
    assert len(photos) == 24

    first = start_worker(env, tmp_path / "worker1.log")
    second = None
    try:
        items = [UploadItem(photo.parent.name, photo.name, photo.read_bytes()) for photo in photos]
        batch = enrollment.start_enrollment(items, source=Source.IMPORT, queue=False)
        ids = list(batch.images.order_by("pk").values_list("pk", flat=True))
        assert len(ids) == 24
        # queue_images' chunks, sent over the real broker (this test process itself runs tasks eagerly)
        client = Celery(broker=redis_url, set_as_current=False)
        chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
        task_ids = [client.send_task("recognition.tasks.enroll_images", args=[chunk], queue="enroll").id
                    for chunk in chunks]  # fmt: skip

        # Kill when a later chunk is half done (1 or 2 of its 4 images): its task is then surely unacknowledged.
        deadline = time.monotonic() + 120
        while (in_flight := half_done(chunks)) is None:
            assert time.monotonic() < deadline, (tmp_path / "worker1.log").read_text()[-3000:]
            time.sleep(0.01)
        first.kill()
        first.wait()
        at_kill = counts(batch)
        assert 0 < at_kill["pending"] < 24, f"the kill came too late to test anything: {at_kill}"

        second = start_worker(env, tmp_path / "worker2.log")
        deadline = time.monotonic() + 180
        while counts(batch)["pending"]:
            assert time.monotonic() < deadline, (tmp_path / "worker2.log").read_text()[-3000:]
            time.sleep(0.2)
        # acks_late: the broker hands the killed worker's task out again (after the visibility timeout); by then
        # its images are done, and running it again must change nothing
        deadline = time.monotonic() + 60
        while f"{task_ids[in_flight]}] succeeded" not in (tmp_path / "worker2.log").read_text():
            assert time.monotonic() < deadline, "the killed worker's task was never delivered again"
            time.sleep(0.5)
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)

    batch.refresh_from_db()
    final = counts(batch)
    assert final["pending"] == 0 and final["enrolled"] + final["rejected"] == 24, final
    assert FaceImage.objects.count() == 24  # none lost, none stored twice
    assert final["enrolled"] >= 20  # one clear face per photo: nearly all enroll
    for image in FaceImage.objects.all():
        expected = 1 if image.status == FaceImage.Status.ENROLLED else 0
        assert image.embeddings.count() == expected, (image.pk, image.status, image.reject_reason)
        assert image.status == FaceImage.Status.ENROLLED or image.reject_reason
        assert Path(image.file.path).is_file()
    assert FaceEmbedding.objects.count() == final["enrolled"]
    assert batch.state == Enrollment.State.DONE


@pytest.mark.services
def test_enroll_command_queues_for_the_workers_and_follows_the_batch(
    transactional_db, redis_url: str, faces_data: Path, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    env = service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url, FACESITE_MEDIA_ROOT=str(media))
    dataset = tmp_path / "dataset"
    for person, source in [("Barack Obama", "facerec_obama/1.jpg"), ("Joe Biden", "facerec_biden/1.jpg")]:
        (dataset / person).mkdir(parents=True)
        (dataset / person / "1.jpg").write_bytes((faces_data / "identities" / source).read_bytes())
    (dataset / "Joe Biden" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")

    worker = start_worker(env, tmp_path / "worker.log")
    try:
        result = subprocess.run([sys.executable, "manage.py", "enroll", str(dataset), "--timeout", "120"],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    finally:
        stop_process(worker)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 enrolled, 0 rejected, 1 refused, 0 duplicates" in result.stdout, result.stdout
    assert "broken.jpg: not an image this platform can read" in result.stdout
    assert FaceEmbedding.objects.count() == 2 and Enrollment.objects.get().state == Enrollment.State.DONE
    assert len(list((media / "faces").rglob("*.jpg"))) == 2
