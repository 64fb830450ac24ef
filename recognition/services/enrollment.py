"""Enrollment: the one path every face takes into the gallery, whichever door it came through.

1. Intake (`start_enrollment`, recognition.services.intake; in the request, the CLI or the sign-up page) stores
   every uploaded file as a pending FaceImage at once, records what it refused, and queues the batch
   (recognition.services.queueing).
2. Processing (`enroll_images`, recognition.services.processing; in a Celery worker, in chunks) claims each image,
   decodes, detects, checks quality (the QualityGate here), aligns, embeds and stores.

This module is the entry point the doors use; people by name live in recognition.services.people.
"""

from __future__ import annotations

from collections.abc import Callable

from recognition.conf import recognition_settings
from recognition.domain.quality import QualityGate
from recognition.models import Source
from recognition.services import processing
from recognition.services.intake import EXTENSIONS, start_enrollment, upload_limits
from recognition.services.people import NameUnavailable, PersonExists, create_person, person_for_name
from recognition.services.processing import finish_if_complete
from recognition.services.queueing import queue_images, reprocess_images, resume_unfinished_enrollments


def quality_gate() -> QualityGate:
    """The quality gate with this deployment's settings (ENROLL_MIN_FACE_PX, ..., ENROLL_MULTIPLE_FACES)."""
    return QualityGate(
        min_face_px=recognition_settings().enroll_min_face_px,
        min_sharpness=recognition_settings().enroll_min_sharpness,
        max_yaw=recognition_settings().enroll_max_yaw,
        multiple_faces=recognition_settings().enroll_multiple_faces,
    )


def process_face_image(image_id: int, analyzer, gate: QualityGate | None = None) -> str | None:
    """Enroll or reject one pending image (see recognition.services.processing); its new status, or None."""
    return processing.process_face_image(image_id, analyzer, gate or quality_gate())


def enroll_images(image_ids: list[int], analyzer, *, on_progress: Callable[[int], None] | None = None) -> None:
    """Process a chunk of images with the configured quality gate, then bring their batches up to date."""
    processing.enroll_images(image_ids, analyzer, quality_gate(), on_progress=on_progress)


__all__ = [
    "EXTENSIONS", "NameUnavailable", "PersonExists", "QualityGate", "Source", "create_person", "enroll_images",
    "finish_if_complete", "person_for_name", "process_face_image", "quality_gate", "queue_images",
    "reprocess_images", "resume_unfinished_enrollments", "start_enrollment", "upload_limits",
]  # fmt: skip
