"""Sending stored face images to the workers: queueing, re-processing and resuming what was left pending.

Tasks are sent by name (the task module calls services; services never import it back)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit.models import Action
from audit.services import record_per_person
from recognition.conf import recognition_settings
from recognition.models import Enrollment, FaceImage

log = logging.getLogger("recognition.enrollment")

ENROLL_TASK = "recognition.tasks.enroll_images"


def queue_images(image_ids: list[int]) -> bool:
    """Send pending images to the workers in chunks (queue `enroll`). When the broker cannot be reached the
    images stay pending (stored, nothing lost) and the periodic resume queues them once it is back."""
    size = max(1, recognition_settings().enroll_chunk_size)
    try:
        for start in range(0, len(image_ids), size):
            current_app.signature(ENROLL_TASK, args=(image_ids[start : start + size],)).delay()
    except OperationalError as exc:
        log.warning("task queue unavailable (%s): %s images stay pending until it is back", exc, len(image_ids))
        return False
    return True


def reprocess_images(images: QuerySet[FaceImage], *, actor=None) -> int:
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
    idempotent, an image already done is skipped, and one a live worker has claimed is left to it. Returns how
    many were queued."""
    pending = FaceImage.objects.filter(status=FaceImage.Status.PENDING)
    if older_than_s:
        pending = pending.filter(created_at__lt=timezone.now() - timedelta(seconds=older_than_s))
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    if ids:
        queue_images(ids)
    return len(ids)
