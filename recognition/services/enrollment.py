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
from dataclasses import dataclass

from django.conf import settings

from recognition.engine.types import Face
from recognition.models import Source
from recognition.services import processing
from recognition.services.intake import EXTENSIONS, start_enrollment, upload_limits
from recognition.services.people import NameUnavailable, PersonExists, create_person, person_for_name
from recognition.services.processing import finish_if_complete
from recognition.services.queueing import queue_images, reprocess_images, resume_unfinished_enrollments


@dataclass(frozen=True)
class QualityGate:
    min_face_px: float
    min_sharpness: float
    max_yaw: float
    multiple_faces: str  # "reject" or "largest"
    dominant_ratio: float = 2.0

    @classmethod
    def from_settings(cls) -> QualityGate:
        return cls(
            min_face_px=settings.ENROLL_MIN_FACE_PX,
            min_sharpness=settings.ENROLL_MIN_SHARPNESS,
            max_yaw=settings.ENROLL_MAX_YAW,
            multiple_faces=settings.ENROLL_MULTIPLE_FACES,
        )

    def choose(self, faces: list[Face]) -> Face | str:
        """The face to enroll, or why the image is rejected.

        Faces below the minimum size do not count, and neither do faces in the background: a face whose
        size is at least `dominant_ratio` times every other face's is the subject of the photo.
        """
        large = sorted((f for f in faces if f.quality.face_px >= self.min_face_px),
                       key=lambda f: f.quality.face_px, reverse=True)  # fmt: skip
        if not large:
            if faces:
                biggest = max(f.quality.face_px for f in faces)
                return f"face too small ({biggest:.0f} px; at least {self.min_face_px:.0f} px)"
            return "no face found"
        face = large[0]
        if len(large) > 1 and self.multiple_faces != "largest":
            if face.quality.face_px < self.dominant_ratio * large[1].quality.face_px:
                return f"{len(large)} faces found; an enrollment image must show exactly one"
        q = face.quality
        if q.blur < self.min_sharpness:
            return f"too blurred (sharpness {q.blur:.1f}; at least {self.min_sharpness:.1f})"
        if abs(q.yaw) > self.max_yaw:
            return f"face turned too far to the side ({q.yaw:.0f} degrees; at most {self.max_yaw:.0f})"
        return face


def process_face_image(image_id: int, analyzer, gate: QualityGate | None = None) -> str | None:
    """Enroll or reject one pending image (see recognition.services.processing); its new status, or None."""
    return processing.process_face_image(image_id, analyzer, gate or QualityGate.from_settings())


def enroll_images(image_ids: list[int], analyzer, *, on_progress: Callable[[int], None] | None = None) -> None:
    """Process a chunk of images with the configured quality gate, then bring their batches up to date."""
    processing.enroll_images(image_ids, analyzer, QualityGate.from_settings(), on_progress=on_progress)


__all__ = [
    "EXTENSIONS", "NameUnavailable", "PersonExists", "QualityGate", "Source", "create_person", "enroll_images",
    "finish_if_complete", "person_for_name", "process_face_image", "queue_images", "reprocess_images",
    "resume_unfinished_enrollments", "start_enrollment", "upload_limits",
]  # fmt: skip
