"""Processing claims an image, analyses it with no transaction open, and writes only while the claim is its own."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from recognition.domain.pack import ModelVersionMismatch
from recognition.engine.types import Face
from recognition.models import FaceImage, Source
from recognition.services import enrollment, processing
from recognition.uploads import UploadItem
from tests.recognition.test_enrollment import png

NO_FACE = "no face found"


class Gate:
    def choose(self, faces: list[Face]) -> Face | str:
        return faces[0] if faces else NO_FACE


class Analyzer:
    """Finds no face; records whether a transaction was open while it ran, and can run a hook meanwhile."""

    embedder = type("E", (), {"name": "arcface_mbf", "version": "x"})()

    def __init__(self, during=None) -> None:
        self.in_atomic: list[bool] = []
        self.during = during

    def analyze(self, *args, **kwargs) -> list[Face]:
        self.in_atomic.append(connection.in_atomic_block)
        if self.during:
            self.during()
        return []


def stored_image(seed: int) -> FaceImage:
    batch = enrollment.start_enrollment([UploadItem("Ann", "a.png", png(seed))], source=Source.IMPORT, queue=False)
    return batch.images.get()


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_analyzer_runs() -> None:
    image = stored_image(1)
    analyzer = Analyzer()
    assert processing.process_face_image(image.pk, analyzer, Gate()) == FaceImage.Status.REJECTED
    assert analyzer.in_atomic == [False]
    image.refresh_from_db()
    assert (image.reject_reason, image.claimed_until, image.claim_token) == (NO_FACE, None, None)


@pytest.mark.django_db
def test_a_second_claim_is_refused_while_the_first_runs() -> None:
    image = stored_image(2)
    assert processing.claim_image(image.pk) is not None
    assert processing.claim_image(image.pk) is None
    analyzer = Analyzer()
    assert processing.process_face_image(image.pk, analyzer, Gate()) is None  # a second worker leaves it alone
    assert analyzer.in_atomic == []
    image.refresh_from_db()
    assert image.status == FaceImage.Status.PENDING


@pytest.mark.django_db
def test_an_expired_claim_is_taken_over() -> None:
    image = stored_image(3)
    dead = processing.claim_image(image.pk)
    FaceImage.objects.filter(pk=image.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    taken = processing.claim_image(image.pk)
    assert taken is not None and taken != dead
    image.refresh_from_db()
    assert image.claim_token == taken and image.claimed_until > timezone.now()


@pytest.mark.django_db
def test_a_worker_whose_claim_was_taken_over_writes_nothing() -> None:
    image = stored_image(4)

    def taken_over() -> None:  # this worker stalled past its lease; another claimed the image meanwhile
        FaceImage.objects.filter(pk=image.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
        assert processing.claim_image(image.pk) is not None

    assert processing.process_face_image(image.pk, Analyzer(during=taken_over), Gate()) is None
    image.refresh_from_db()
    assert image.status == FaceImage.Status.PENDING and image.claim_token is not None


@pytest.mark.django_db
def test_an_image_no_longer_pending_is_not_claimed() -> None:
    image = stored_image(5)
    assert processing.process_face_image(image.pk, Analyzer(), Gate()) == FaceImage.Status.REJECTED
    assert processing.claim_image(image.pk) is None


@pytest.mark.django_db
def test_a_face_that_cannot_be_checked_against_a_gallery_of_other_weights_is_rejected(monkeypatch) -> None:
    def stale_gallery(*args, **kwargs):
        raise ModelVersionMismatch("arcface_mbf", "arcface_mbf:new", ["arcface_mbf:old"])

    class OneFace(Analyzer):
        def analyze(self, *args, **kwargs) -> list:
            return [SimpleNamespace(embedding=[0.0] * 512)]

    monkeypatch.setattr(processing.integrity, "check_face", stale_gallery)
    image = stored_image(6)
    assert processing.process_face_image(image.pk, OneFace(), Gate()) == FaceImage.Status.REJECTED
    image.refresh_from_db()
    assert "re-embed" in image.reject_reason and not image.embeddings.exists()
