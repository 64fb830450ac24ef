"""Enrollment services on bad and awkward input: every file ends stored, rejected with a reason, or refused with an
error the admin can see; nothing disappears. Real models and real face photos (../shared/data/faces)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recognition.models import Enrollment, FaceEmbedding, FaceImage, Person, Source
from recognition.selectors import batch_progress
from recognition.services import enrollment, lifecycle, queueing
from recognition.uploads import UploadError, UploadItem, read_folder

pytestmark = pytest.mark.django_db

FACE = "identities/facerec_obama/1.jpg"
OTHER_FACE = "identities/facerec_biden/1.jpg"
TWO_FACES = "group/facerec_two_people.jpg"


@pytest.fixture(scope="session")
def analyzer():
    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:
        return face_analyzer("arcface")  # by name: the active pack would need the database
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"models not available ({exc}); run `python manage.py fetch_models`")


def png(seed: int, size: int = 8) -> bytes:
    """A tiny PNG without a face whose pixels (so bytes) differ for every seed."""
    pixels = np.full((size, size, 3), 128, np.uint8)
    pixels.reshape(-1)[:4] = np.frombuffer(seed.to_bytes(4, "big"), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def intake(items: list, **options) -> Enrollment:
    return enrollment.start_enrollment(items, source=Source.IMPORT, queue=False, **options)


def accounted(batch: Enrollment, offered: int) -> None:
    """Every offered file is a stored image, a refusal with a message, or a counted duplicate."""
    assert batch.images.count() + len(batch.errors) + batch.duplicates == offered
    assert all(error["error"] for error in batch.errors)


def process(batch: Enrollment, analyzer) -> None:
    ids = list(batch.images.order_by("pk").values_list("pk", flat=True))
    enrollment.enroll_images(ids, analyzer)
    batch.refresh_from_db()


def test_a_clear_face_is_enrolled_with_one_embedding(faces_data: Path, analyzer, media: Path) -> None:
    batch = intake([UploadItem("Barack Obama", "1.jpg", (faces_data / FACE).read_bytes())])
    process(batch, analyzer)
    image = FaceImage.objects.get()
    assert image.status == FaceImage.Status.ENROLLED, image.reject_reason
    assert image.person.display_name == "Barack Obama" and batch.state == Enrollment.State.DONE
    embedding = FaceEmbedding.objects.get(face_image=image)
    assert embedding.model_name == analyzer.embedder.name and embedding.person_id == image.person_id
    assert abs(np.linalg.norm(np.asarray(embedding.vector)) - 1) < 1e-3
    assert image.face_box and image.quality["face_px"] >= 40
    assert Path(image.file.path).read_bytes() == (faces_data / FACE).read_bytes()
    assert Path(image.file.path).is_relative_to(media)
    # a second delivery of the same task (acks_late after a killed worker) changes nothing
    assert enrollment.process_face_image(image.pk, analyzer) is None
    assert FaceEmbedding.objects.count() == 1


def test_bad_images_are_refused_or_rejected_with_reasons(faces_data: Path, analyzer) -> None:
    jpeg = (faces_data / FACE).read_bytes()
    gradient = io.BytesIO()
    Image.fromarray(np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))).save(gradient, "PNG")
    items = [
        UploadError("p/notes.txt", "not an image file (by its extension)"),  # as the reader reports it
        UploadItem("p", "text.jpg", b"this is text, not a picture"),
        UploadItem("p", "garbage.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8),
        UploadItem("p", "truncated.jpg", jpeg[: len(jpeg) // 3]),
        UploadItem("p", "gradient.png", gradient.getvalue()),
        UploadItem("p", "two.jpg", (faces_data / TWO_FACES).read_bytes()),
    ]
    batch = intake(items)
    accounted(batch, len(items))
    refused = {error["file"]: error["error"] for error in batch.errors}
    assert refused == {
        "p/notes.txt": "not an image file (by its extension)",
        "text.jpg": "not an image this platform can read",
        "garbage.jpg": "not an image this platform can read",
    }
    process(batch, analyzer)
    reasons = dict(batch.images.values_list("original_name", "reject_reason"))
    assert set(batch.images.values_list("status", flat=True)) == {FaceImage.Status.REJECTED}
    assert "corrupt or truncated" in reasons["truncated.jpg"]
    assert reasons["gradient.png"] == "no face found"
    assert reasons["two.jpg"].startswith("2 faces found")
    assert FaceEmbedding.objects.count() == 0
    assert batch.state == Enrollment.State.DONE and batch_progress(batch).rejected == 3


def test_same_bytes_same_person_is_a_no_op_and_two_people_a_conflict(faces_data: Path) -> None:
    data = (faces_data / FACE).read_bytes()
    first = intake([UploadItem("Barack Obama", "1.jpg", data)])
    again = intake([UploadItem("barack  obama", "copy.jpg", data), UploadItem("Barack Obama", "1.jpg", data)])
    assert again.duplicates == 2 and again.errors == [] and again.images.count() == 0
    assert again.state == Enrollment.State.DONE
    other = intake([UploadItem("Joe Biden", "obama.jpg", data)])
    assert other.images.count() == 0
    assert other.errors == [{"file": "obama.jpg", "code": "same_image_elsewhere", "params": {"holder": "Barack Obama"},
                             "error": "conflict: the same image is already enrolled for Barack Obama"}]  # fmt: skip
    # within one upload too: the first name wins, the second is reported
    both = intake([UploadItem("Ann", "a.png", png(1)), UploadItem("Bob", "b.png", png(1))])
    assert both.images.get().person.display_name == "Ann" and "conflict" in both.errors[0]["error"]
    assert FaceImage.objects.filter(sha256=first.images.get().sha256).count() == 1


def test_reupload_of_an_image_in_the_recycle_bin_says_so() -> None:
    batch = intake([UploadItem("Ann", "a.png", png(7))])
    lifecycle.move_images_to_recycle_bin(batch.images.all())
    again = intake([UploadItem("Ann", "a.png", png(7))])
    assert again.duplicates == 0 and "recycle bin" in again.errors[0]["error"]


@pytest.mark.parametrize("name", ["Zoë Ångström", "李小龍", "AC/DC", "../../etc/passwd", "///", "a\\b"])
def test_person_names_with_slashes_or_unicode(name: str, media: Path) -> None:
    batch = intake([UploadItem(name, "x.png", png(hash(name) & 0xFFFF))])
    image = batch.images.get()
    assert image.person.display_name == name and image.person.slug
    stored = Path(image.file.path).resolve()
    assert stored.is_relative_to(media.resolve()) and stored.parent.parent.name == str(image.person_id)
    assert enrollment.person_for_name(name) == image.person  # the same name finds the same person


def test_names_that_differ_only_in_case_or_spacing_are_one_person() -> None:
    assert enrollment.person_for_name("Ada  Lovelace") == enrollment.person_for_name("ada lovelace")
    assert enrollment.person_for_name("AC/DC") != enrollment.person_for_name("AC DC")
    with pytest.raises(ValueError):
        enrollment.person_for_name("   ")


def test_an_empty_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty" / "person").mkdir(parents=True)
    batch = intake(read_folder(tmp_path / "empty"))
    assert batch.state == Enrollment.State.DONE and batch.images.count() == 0
    assert batch.errors == [{"file": "", "error": "no files found in the upload"}]


def test_an_analyzer_error_rejects_the_image_instead_of_leaving_it_pending() -> None:
    class Broken:
        embedder = type("E", (), {"name": "arcface_mbf", "version": "x"})()

        def analyze(self, *args, **kwargs):
            raise RuntimeError("onnxruntime exploded")

    batch = intake([UploadItem("Ann", "a.png", png(3))])
    process(batch, Broken())
    image = batch.images.get()
    assert image.status == FaceImage.Status.REJECTED and "onnxruntime exploded" in image.reject_reason
    assert batch.state == Enrollment.State.DONE


def test_five_thousand_images_in_one_batch_are_stored_and_queued_in_chunks(
    settings, monkeypatch, django_capture_on_commit_callbacks, analyzer
) -> None:
    from recognition import tasks

    settings.ENROLL_CHUNK_SIZE = 16
    chunks: list[list[int]] = []
    monkeypatch.setattr(tasks.enroll_images, "apply_async", lambda args, kwargs, **_: chunks.append(list(args[0])))
    items = [UploadItem(f"person {n % 50}", f"{n}.png", png(n)) for n in range(5000)]
    with django_capture_on_commit_callbacks(execute=True):
        batch = enrollment.start_enrollment(items, source=Source.UPLOAD)
    accounted(batch, 5000)
    assert batch.errors == [] and batch.images.count() == 5000 and Person.objects.count() == 50
    queued = [pk for chunk in chunks for pk in chunk]
    assert len(chunks) == math.ceil(5000 / 16) and max(map(len, chunks)) == 16
    assert sorted(queued) == sorted(batch.images.values_list("pk", flat=True))  # each once, none left out
    assert sum(1 for _ in (Path(settings.MEDIA_ROOT) / "faces").rglob("*.png")) == 5000
    enrollment.enroll_images(chunks[0], analyzer)  # a sample goes through the worker's code
    progress = batch_progress(Enrollment.objects.get(pk=batch.pk))
    assert (progress.rejected, progress.pending, progress.state) == (16, 4984, "running")


def test_resume_queues_every_pending_image_again(monkeypatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(queueing, "queue_images", lambda ids: queued.extend(ids))
    batch = intake([UploadItem("Ann", f"{n}.png", png(100 + n)) for n in range(3)])
    lifecycle.move_images_to_recycle_bin(batch.images.filter(original_name="2.png"))
    Enrollment.objects.filter(pk=batch.pk).update(state=Enrollment.State.RUNNING)
    assert enrollment.resume_unfinished_enrollments() == 2
    assert sorted(queued) == sorted(batch.images.filter(status="pending").values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_the_queue_is_down_keeps_its_images_pending_and_resumes_later(monkeypatch) -> None:
    from kombu.exceptions import OperationalError

    from recognition.tasks import enroll_images

    def broker_down(*args, **kwargs):
        # What publishing raises when Redis refuses the connection. Faked here because this process's Celery app
        # is eager and caches its producer pool; tests/reliability restarts a real Redis under live sockets.
        raise OperationalError("Error 111 connecting to 127.0.0.1:63790. Connection refused.")

    monkeypatch.setattr(enroll_images, "apply_async", broker_down)
    items = [UploadItem("Queue Down", f"{k}.png", png(9000 + k)) for k in range(3)]
    batch = enrollment.start_enrollment(items, source="upload")  # must not raise: the files are stored
    assert batch.images.filter(status=FaceImage.Status.PENDING).count() == 3
    assert enrollment.queue_images(list(batch.images.values_list("pk", flat=True))) is False
    monkeypatch.undo()  # the queue is back (eager here): the periodic resume processes them
    assert enrollment.resume_unfinished_enrollments() == 3
    assert not batch.images.filter(status=FaceImage.Status.PENDING).exists()
