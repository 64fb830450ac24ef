"""Taking files in: every uploaded file is stored under media/ as a pending FaceImage at once, or named in the
batch's errors; the stored images are queued for the workers. Nothing is lost."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from recognition.conf import recognition_settings
from recognition.engine.imageio import image_format
from recognition.models import Enrollment, FaceImage, Person
from recognition.refusals import Refusal, batch_error
from recognition.services import integrity
from recognition.services.people import NameUnavailable, person_for_name
from recognition.services.queueing import queue_images
from recognition.signals import send_enrollment_finished
from recognition.uploads import UploadError, UploadItem, UploadLimits, UploadRejected

log = logging.getLogger("recognition.enrollment")

# Pillow format -> file extension under media/ (the uploaded name is never trusted for this).
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "WEBP": "webp", "TIFF": "tif", "GIF": "gif", "MPO": "jpg"}


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_files=recognition_settings().enroll_max_files,
        max_file_bytes=recognition_settings().enroll_max_file_bytes,
        max_total_bytes=recognition_settings().enroll_max_total_bytes,
    )


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
