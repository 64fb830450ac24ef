"""Enrollment: the one path every face takes into the gallery, whichever door it came through.

1. `start_enrollment` (in the request, the CLI or the sign-up page) stores every uploaded file under media/ as a
   pending FaceImage at once, records what it refused, and queues the batch. Nothing is lost: a file is either
   stored or named in the batch's errors.
2. `process_face_image` (in a Celery worker, in chunks) decodes, detects, checks quality, aligns, embeds and
   stores. It is idempotent: an image that is no longer pending is skipped, and one image has at most one
   embedding per model, so a task delivered twice (a killed worker, acks_late) does no harm.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.models import Action
from audit.services import record, record_per_person
from recognition.domain.quality import QualityGate, Rejection
from recognition.engine.imageio import InvalidImage, decode_image, image_format
from recognition.engine.types import Face
from recognition.models import Enrollment, FaceEmbedding, FaceImage, Person, Source
from recognition.refusals import Refusal, batch_error, refusal_words
from recognition.rejections import rejection_words
from recognition.services import integrity
from recognition.signals import send_enrollment_finished
from recognition.uploads import UploadError, UploadItem, UploadLimits, UploadRejected

log = logging.getLogger("recognition.enrollment")

# Pillow format -> file extension under media/ (the uploaded name is never trusted for this).
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "WEBP": "webp", "TIFF": "tif", "GIF": "gif", "MPO": "jpg"}


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_files=settings.ENROLL_MAX_FILES,
        max_file_bytes=settings.ENROLL_MAX_FILE_BYTES,
        max_total_bytes=settings.ENROLL_MAX_TOTAL_BYTES,
    )


# --- people -----------------------------------------------------------------------------------------------------
class PersonExists(ValueError):
    def __init__(self, person: Person) -> None:
        self.person = person
        where = " (in the recycle bin: POST its restore/)" if person.in_recycle_bin else ""
        super().__init__(f"A person with this name exists: id {person.pk}{where}.")


def _name_and_slug(display_name: str) -> tuple[str, str]:
    """People are told apart by the slug of their name; a name with no slug-able letters gets a digest."""
    name = " ".join(display_name.split())[:200]
    if not name:
        raise ValueError("a person needs a name")
    return name, slugify(name, allow_unicode=True)[:200] or "person-" + hashlib.sha256(name.encode()).hexdigest()[:10]


def create_person(display_name: str, **fields) -> Person:
    """A new person (PersonExists when the name is taken, also by someone in the recycle bin)."""
    name, slug = _name_and_slug(display_name)
    existing = Person.objects.filter(slug=slug).first()
    if existing is not None:
        raise PersonExists(existing)
    return Person.objects.create(display_name=name, slug=slug, **fields)


class NameUnavailable(ValueError):
    """Enrollment by name may not add to the Person of that name (see person_for_name)."""

    def __init__(self, code: Refusal, name: str) -> None:
        self.code, self.name = code, name
        super().__init__(refusal_words(code, name=name))


def person_for_name(display_name: str) -> Person:
    """The person with this name (by slug), created when new.

    Only people staff enroll by name are found by name: a Person that belongs to an account (a member, who may
    have signed up under anyone's name, or someone who withdrew consent and kept a name without face data) is
    never added to, and a Person in the recycle bin is never silently revived; both are NameUnavailable."""
    name, slug = _name_and_slug(display_name)
    if not Person.objects.filter(slug=slug).exists() and _withdrew_consent(slug):
        raise NameUnavailable(Refusal.NAME_OF_WITHDRAWN, name)
    person, created = Person.objects.get_or_create(slug=slug, defaults={"display_name": name})
    if created:
        return person
    if person.user_id is not None:
        raise NameUnavailable(Refusal.NAME_OF_ACCOUNT, name)
    if person.deleted_at is not None:
        raise NameUnavailable(Refusal.NAME_IN_RECYCLE_BIN, name)
    return person


def _withdrew_consent(slug: str) -> bool:
    """Is `slug` the name of an account whose consent is withdrawn (and not given again)? Its Person was erased
    with its face data, so only the account's name is left to recognise it by. (`consents`: accounts' Consent;
    read through the user model, as accounts builds on recognition and not the other way round.)"""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model().objects.filter(consents__withdrawn_at__isnull=False)
        .exclude(consents__withdrawn_at__isnull=True).distinct()
    )  # fmt: skip
    for user in users.only("username", "first_name", "last_name"):
        try:
            if _name_and_slug(user.get_full_name() or user.get_username())[1] == slug:
                return True
        except ValueError:
            continue
    return False


# --- 1. taking files in --------------------------------------------------------------------------------------------
@dataclass
class _Intake:
    batch: Enrollment
    person: Person | None
    queued: list[int]
    people: dict[str, Person]


def start_enrollment(
    items: Iterable[UploadItem | UploadError],
    *,
    source: str,
    started_by=None,
    person: Person | None = None,
    queue: bool = True,
) -> Enrollment:
    """Store every item as a pending face image in a new batch and queue the batch for the workers.

    With `person`, every item belongs to that person whatever its folder says. Items that cannot be taken
    (refused by the reader, not an image, the same bytes already enrolled for someone else) are recorded in
    the batch's errors; the same bytes again for the same person count as a duplicate and change nothing.
    """
    batch = Enrollment.objects.create(source=source, started_by=started_by)
    intake = _Intake(batch=batch, person=person, queued=[], people={})
    seen = 0
    try:
        for item in items:
            seen += 1
            if isinstance(item, UploadError):
                batch.errors.append({"file": item.filename, "error": item.error})
            else:
                _take(intake, item)
    except UploadRejected as exc:  # stop reading; what was stored so far is kept and processed
        batch.errors.append({"file": "", "error": str(exc)})
    if not seen and not batch.errors:  # an empty folder or zip: say so rather than report a silent success
        batch.errors.append({"file": "", "error": "no files found in the upload"})
    if not intake.queued:
        batch.state = Enrollment.State.DONE
        batch.finished_at = timezone.now()
        transaction.on_commit(lambda: send_enrollment_finished(batch))
    batch.save()
    record(started_by, Action.ENROLL, batch, source=source, person=getattr(person, "pk", None),
           queued=len(intake.queued), refused=len(batch.errors), duplicates=batch.duplicates)  # fmt: skip
    if queue and intake.queued:
        transaction.on_commit(lambda: queue_images(intake.queued))
    log.info("enrollment #%s: %s images queued, %s refused, %s duplicates",
             batch.pk, len(intake.queued), len(batch.errors), batch.duplicates)  # fmt: skip
    return batch


def _take(intake: _Intake, item: UploadItem) -> None:
    batch = intake.batch
    found_format = image_format(item.data)
    if found_format not in EXTENSIONS:
        batch.errors.append({"file": item.filename, "error": "not an image this platform can read"})
        return
    sha = hashlib.sha256(item.data).hexdigest()
    person = intake.person
    if person is None:
        person = intake.people.get(item.person_name)
        if person is None:
            try:
                person = intake.people[item.person_name] = person_for_name(item.person_name)
            except NameUnavailable as exc:
                batch.errors.append(batch_error(item.filename, exc.code, name=exc.name))
                return
            except ValueError as exc:
                batch.errors.append({"file": item.filename, "error": str(exc)})
                return
    # One query for both checks (it runs for every file of a batch of thousands): who already has these bytes?
    holders = FaceImage.objects.filter(sha256=sha).values_list(
        "person_id", "status", "person__deleted_at", "person__display_name"
    )
    same_status = None
    for holder_id, status, holder_deleted_at, holder_name in holders:
        if holder_id == person.pk:
            same_status = status
        elif status != FaceImage.Status.DELETED and holder_deleted_at is None:
            if integrity.by_member(batch, person):  # a member is never told who else is enrolled
                batch.errors.append(batch_error(item.filename, Refusal.SAME_IMAGE_ELSEWHERE))
                integrity.record_same_bytes(person, holder_id, batch=batch, actor=batch.started_by)
            else:
                batch.errors.append(batch_error(item.filename, Refusal.SAME_IMAGE_ELSEWHERE, holder=holder_name))
            return
    if same_status == FaceImage.Status.DELETED:  # a no-op would leave it out of search without a word
        batch.errors.append(
            {"file": item.filename, "error": f"already uploaded for {person} and now in the recycle bin: "
                                             "restore it from there"}
        )  # fmt: skip
        return
    if same_status is not None:
        batch.duplicates += 1  # these bytes are already this person's: a no-op
        return
    image = FaceImage(
        person=person, enrollment=batch, sha256=sha, original_name=item.filename[:255], source=batch.source
    )
    try:
        with transaction.atomic():
            image.file.save(f"upload.{EXTENSIONS[found_format]}", ContentFile(item.data), save=False)
            image.save()
    except IntegrityError:  # the same bytes arrived for this person concurrently
        image.file.delete(save=False)  # storage gave this copy a fresh name; the other row keeps its own
        batch.duplicates += 1
        return
    intake.queued.append(image.pk)


def queue_images(image_ids: list[int]) -> bool:
    """Send pending images to the workers in chunks (queue `enroll`). When the broker cannot be reached the
    images stay pending (stored, nothing lost) and the periodic resume queues them once it is back."""
    from kombu.exceptions import OperationalError

    from recognition.tasks import enroll_images

    size = max(1, settings.ENROLL_CHUNK_SIZE)
    try:
        for start in range(0, len(image_ids), size):
            enroll_images.delay(image_ids[start : start + size])
    except OperationalError as exc:
        log.warning("task queue unavailable (%s): %s images stay pending until it is back", exc, len(image_ids))
        return False
    return True


def reprocess_images(images, *, actor=None) -> int:
    """Send rejected and pending images back to the workers (after a quality setting or a model changed).
    Their batches become unfinished again, so progress pages and the restart hook see them."""
    status = FaceImage.Status
    with transaction.atomic():
        ids = list(images.filter(status__in=[status.REJECTED, status.PENDING]).values_list("pk", flat=True))
        FaceImage.objects.filter(pk__in=ids, status=status.REJECTED).update(
            status=status.PENDING, reject_reason="", reject_code="", processed_at=None
        )
        Enrollment.objects.filter(images__pk__in=ids).update(state=Enrollment.State.QUEUED, finished_at=None)
        rows = FaceImage.objects.filter(pk__in=ids).values_list("pk", "person_id", "person__display_name")
        record_per_person(actor, Action.REPROCESS, rows)
        if ids:
            transaction.on_commit(lambda: queue_images(ids))
    return len(ids)


def resume_unfinished_enrollments(*, older_than_s: float = 0) -> int:
    """Queue again every pending image (after a worker was killed, the platform restarted or the queue was
    down), optionally only those waiting longer than `older_than_s`. Safe to call any time: processing is
    idempotent, and an image already done is skipped. Returns how many were queued."""
    pending = FaceImage.objects.filter(status=FaceImage.Status.PENDING)
    if older_than_s:
        pending = pending.filter(created_at__lt=timezone.now() - timedelta(seconds=older_than_s))
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    if ids:
        queue_images(ids)
    return len(ids)


# --- 2. processing in a worker -----------------------------------------------------------------------------------
def quality_gate() -> QualityGate:
    """The quality gate with this deployment's settings (ENROLL_MIN_FACE_PX, ..., ENROLL_MULTIPLE_FACES)."""
    return QualityGate(
        min_face_px=settings.ENROLL_MIN_FACE_PX,
        min_sharpness=settings.ENROLL_MIN_SHARPNESS,
        max_yaw=settings.ENROLL_MAX_YAW,
        multiple_faces=settings.ENROLL_MULTIPLE_FACES,
    )


def process_face_image(image_id: int, analyzer, gate: QualityGate | None = None) -> str | None:
    """Enroll or reject one pending image; returns its new status, or None if it was not pending (done already,
    deleted, or being processed by another worker)."""
    gate = gate or quality_gate()
    embedder = analyzer.embedder
    with transaction.atomic():
        image = (
            FaceImage.objects.select_for_update(skip_locked=True)
            .filter(pk=image_id, status=FaceImage.Status.PENDING)
            .first()
        )
        if image is None:
            return None
        faces = analyse_stored_image(image, analyzer)
        if isinstance(faces, str):
            return _reject(image, faces)
        chosen = gate.choose(faces)
        if isinstance(chosen, Rejection):
            return _reject(image, rejection_words(chosen), code=chosen.code)
        # Integrity, here where every face enters the gallery: a member's own face must be theirs and nobody
        # else's (refused otherwise); a staff upload that looks like someone else is enrolled and flagged.
        member = integrity.is_member_enrollment(image)
        finding = integrity.check_face(image, chosen.embedding, model_name=embedder.name, own=member)
        if finding is not None and (member or finding.kind == integrity.Kind.MATCHES_OTHER):
            integrity.record_conflict(image, finding, refused=member)
            if member:
                return _reject(image, refusal_words(Refusal.IDENTITY_CONFLICT), code=Refusal.IDENTITY_CONFLICT)
        store_embedding(image, embedder, chosen.embedding)
        image.status = FaceImage.Status.ENROLLED
        image.reject_reason = image.reject_code = ""
        image.quality = _quality_dict(chosen)
        image.face_box = [round(float(v), 1) for v in chosen.box]
        image.processed_at = timezone.now()
        image.save(update_fields=["status", "reject_reason", "reject_code", "quality", "face_box", "processed_at"])
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


def _reject(image: FaceImage, reason: str, *, code: str = "") -> str:
    image.status = FaceImage.Status.REJECTED
    image.reject_reason = reason[:200]
    image.reject_code = code
    image.processed_at = timezone.now()
    image.save(update_fields=["status", "reject_reason", "reject_code", "processed_at"])
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


def enroll_images(image_ids: list[int], analyzer, *, on_progress: Callable[[int], None] | None = None) -> None:
    """Process a chunk of images, then bring their batches' states up to date."""
    batch_ids = set(
        FaceImage.objects.filter(pk__in=image_ids).exclude(enrollment=None).values_list("enrollment_id", flat=True)
    )
    Enrollment.objects.filter(pk__in=batch_ids, state=Enrollment.State.QUEUED).update(state=Enrollment.State.RUNNING)
    for done, image_id in enumerate(image_ids, 1):
        process_face_image(image_id, analyzer)
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


__all__ = [
    "NameUnavailable", "QualityGate", "enroll_images", "finish_if_complete", "person_for_name", "process_face_image",
    "quality_gate", "queue_images", "reprocess_images", "resume_unfinished_enrollments", "start_enrollment",
    "upload_limits", "Source",
]  # fmt: skip
