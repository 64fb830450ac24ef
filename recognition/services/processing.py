"""Processing stored face images in a worker: claim, analyse, write.

1. Claim: one conditional UPDATE gives the image to this worker for a lease (ENROLL_CLAIM_LEASE_S) while it
   stays pending; a second worker is refused while the lease runs, and takes it over once a dead worker's
   lease has expired.
2. Analyse: decode, detect, check quality, align and embed with no transaction open (no pooled connection or
   row lock is held through inference).
3. Write: one short transaction, and only if the claim is still this worker's.

Idempotent: an image that is no longer pending is skipped, and one image has at most one embedding per model, so
a task delivered twice (a killed worker, acks_late) does no harm.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from recognition.conf import recognition_settings
from recognition.domain.pack import ModelVersionMismatch
from recognition.domain.quality import Rejection
from recognition.engine.imageio import InvalidImage, decode_image
from recognition.engine.types import Face
from recognition.models import Enrollment, FaceEmbedding, FaceImage
from recognition.refusals import Refusal, refusal_words
from recognition.rejections import rejection_words
from recognition.services import integrity
from recognition.signals import send_enrollment_finished

log = logging.getLogger("recognition.enrollment")


class FaceChooser(Protocol):
    """The quality gate: the face to enroll, or the reason the image is rejected."""

    def choose(self, faces: list[Face]) -> Face | Rejection: ...


def claim_image(image_id: int, *, lease_s: float | None = None) -> uuid.UUID | None:
    """Claim a pending image for this worker (a token), or None when it is not pending or another worker's
    lease on it still runs."""
    lease = recognition_settings().enroll_claim_lease_s if lease_s is None else lease_s
    now = timezone.now()
    token = uuid.uuid4()
    claimed = (
        FaceImage.objects.filter(pk=image_id, status=FaceImage.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=lease), claim_token=token)
    )
    return token if claimed else None


def process_face_image(image_id: int, analyzer, gate: FaceChooser) -> str | None:
    """Enroll or reject one pending image; returns its new status, or None if it was not ours to process (done
    already, deleted, claimed by another worker, or our claim expired and was taken over meanwhile)."""
    token = claim_image(image_id)
    if token is None:
        return None
    image = FaceImage.objects.select_related("person", "enrollment").filter(pk=image_id).first()
    if image is None:  # purged since
        return None
    embedder = analyzer.embedder
    faces = analyse_stored_image(image, analyzer)
    chosen = faces if isinstance(faces, str) else gate.choose(faces)
    finding = None
    member = False
    if not isinstance(chosen, (str, Rejection)):
        # Integrity, here where every face enters the gallery: a member's own face must be theirs and nobody
        # else's (refused otherwise); a staff upload that looks like someone else is enrolled and flagged.
        member = integrity.is_member_enrollment(image)
        try:
            finding = integrity.check_face(image, chosen.embedding, model_name=embedder.name, own=member)
        except ModelVersionMismatch as exc:  # nothing comparable to check it against until the gallery is re-embedded
            chosen = str(exc)
    with transaction.atomic():
        image = (
            FaceImage.objects.select_for_update(of=("self",))
            .select_related("person", "enrollment")
            .filter(pk=image_id, status=FaceImage.Status.PENDING, claim_token=token)
            .first()
        )
        if image is None:
            return None
        if isinstance(chosen, Rejection):
            return _reject(image, rejection_words(chosen), code=chosen.code)
        if isinstance(chosen, str):
            return _reject(image, chosen)
        if finding is not None and (member or finding.kind == integrity.Kind.MATCHES_OTHER):
            integrity.record_conflict(image, finding, refused=member)
            if member:
                return _reject(image, refusal_words(Refusal.IDENTITY_CONFLICT), code=Refusal.IDENTITY_CONFLICT)
        store_embedding(image, embedder, chosen.embedding)
        image.status = FaceImage.Status.ENROLLED
        image.reject_reason = image.reject_code = ""
        image.quality = _quality_dict(chosen)
        image.face_box = [round(float(v), 1) for v in chosen.box]
        _finish(image, ["status", "reject_reason", "reject_code", "quality", "face_box"])
        return image.status


def analyse_stored_image(image: FaceImage, analyzer) -> list[Face] | str:
    """The faces in an image's stored file, or why there are none to be had (a missing or undecodable file, a
    model error: one image must never stall its batch or a re-embedding)."""
    try:
        with image.file.open("rb") as stream:
            pixels = decode_image(stream.read())
        return analyzer.analyze(pixels, emotion=False)
    except FileNotFoundError:
        return "the stored file is missing"
    except InvalidImage as exc:
        return str(exc)
    except Exception as exc:
        log.exception("analysing face image %s with %s failed", image.pk, analyzer.embedder.name)
        return f"analysis failed ({type(exc).__name__}: {exc})"


def store_embedding(image: FaceImage, embedder, vector) -> None:
    """The image's embedding by `embedder`: kept as it is if one of the same model version exists already,
    replaced if it is of another version (other weights or test-time augmentation: not comparable)."""
    row, created = FaceEmbedding.objects.get_or_create(
        face_image=image,
        model_name=embedder.name,
        defaults={"person_id": image.person_id, "vector": vector, "model_version": embedder.version},
    )
    if not created and row.model_version != embedder.version:
        row.person_id, row.vector, row.model_version = image.person_id, vector, embedder.version
        row.save(update_fields=["person", "vector", "model_version"])


def _finish(image: FaceImage, fields: list[str]) -> None:
    """Save the outcome and let go of the claim."""
    image.processed_at = timezone.now()
    image.claimed_until = image.claim_token = None
    image.save(update_fields=[*fields, "processed_at", "claimed_until", "claim_token"])


def _reject(image: FaceImage, reason: str, *, code: str = "") -> str:
    image.status = FaceImage.Status.REJECTED
    image.reject_reason = reason[:200]
    image.reject_code = code
    _finish(image, ["status", "reject_reason", "reject_code"])
    return image.status


def _quality_dict(face: Face) -> dict:
    q = face.quality
    return {
        "face_px": round(q.face_px, 1),
        "sharpness": round(q.blur, 1),
        "yaw": round(q.yaw, 1),
        "pitch": round(q.pitch, 1),
        "brightness": round(q.brightness, 1),
        "detection_score": round(float(face.score), 3),
    }


def enroll_images(
    image_ids: list[int], analyzer, gate: FaceChooser, *, on_progress: Callable[[int], None] | None = None
) -> None:
    """Process a chunk of images, then bring their batches' states up to date."""
    batch_ids = set(
        FaceImage.objects.filter(pk__in=image_ids).exclude(enrollment=None).values_list("enrollment_id", flat=True)
    )
    Enrollment.objects.filter(pk__in=batch_ids, state=Enrollment.State.QUEUED).update(state=Enrollment.State.RUNNING)
    for done, image_id in enumerate(image_ids, 1):
        process_face_image(image_id, analyzer, gate)
        if on_progress:
            on_progress(done)
    for batch_id in batch_ids:
        finish_if_complete(batch_id)


def finish_if_complete(batch_id: int) -> None:
    with transaction.atomic():
        batch = Enrollment.objects.select_for_update().get(pk=batch_id)
        if batch.state == Enrollment.State.DONE:
            return
        if not batch.images.filter(status=FaceImage.Status.PENDING).exists():
            batch.state = Enrollment.State.DONE
            batch.finished_at = timezone.now()
            batch.save(update_fields=["state", "finished_at"])
            transaction.on_commit(lambda: send_enrollment_finished(batch))
