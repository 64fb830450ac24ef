"""The enrollment quality gate: which face of a photo (or a webcam frame) may enter the gallery, or why none.

A rejection is a code with the figures that decided it (`Rejection`), never a sentence: callers branch on the
code, and the words for people are made at the edge (recognition.rejections), so rewording a message changes
no behaviour. Faces are anything with a `quality` holding `face_px`, `blur` and `yaw` (the engine's Face).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar


class FaceQuality(Protocol):
    @property
    def face_px(self) -> float: ...  # short side of the detection box

    @property
    def blur(self) -> float: ...  # sharpness: variance of the Laplacian (higher = sharper)

    @property
    def yaw(self) -> float: ...  # degrees


class QualifiedFace(Protocol):
    @property
    def quality(self) -> FaceQuality: ...


F = TypeVar("F", bound=QualifiedFace)


class QualityCode(StrEnum):
    NO_FACE = "no_face"
    FACE_TOO_SMALL = "face_too_small"  # value: the biggest face's px; limit: the minimum
    SEVERAL_FACES = "several_faces"  # value: how many large faces, none of them dominant
    BLURRED = "blurred"  # value: sharpness; limit: the minimum
    TURNED_AWAY = "turned_away"  # value: yaw in degrees; limit: the largest allowed


@dataclass(frozen=True)
class Rejection:
    code: QualityCode
    value: float | None = None  # the measured figure that failed (see QualityCode)
    limit: float | None = None  # the gate's limit it failed against


class MultipleFaces(StrEnum):
    REJECT = "reject"  # a photo with several large faces, none dominant, is rejected
    LARGEST = "largest"  # ... or its largest face is taken


@dataclass(frozen=True)
class QualityGate:
    min_face_px: float
    min_sharpness: float
    max_yaw: float
    multiple_faces: str  # a MultipleFaces value
    dominant_ratio: float = 2.0

    def choose(self, faces: Sequence[F]) -> F | Rejection:
        """The face to enroll, or why the image is rejected.

        Faces below the minimum size do not count, and neither do faces in the background: a face whose
        size is at least `dominant_ratio` times every other face's is the subject of the photo.
        """
        large = sorted((f for f in faces if f.quality.face_px >= self.min_face_px),
                       key=lambda f: f.quality.face_px, reverse=True)  # fmt: skip
        if not large:
            if faces:
                biggest = max(f.quality.face_px for f in faces)
                return Rejection(QualityCode.FACE_TOO_SMALL, biggest, self.min_face_px)
            return Rejection(QualityCode.NO_FACE)
        face = large[0]
        if len(large) > 1 and self.multiple_faces != MultipleFaces.LARGEST:
            if face.quality.face_px < self.dominant_ratio * large[1].quality.face_px:
                return Rejection(QualityCode.SEVERAL_FACES, len(large))
        q = face.quality
        if q.blur < self.min_sharpness:
            return Rejection(QualityCode.BLURRED, q.blur, self.min_sharpness)
        if abs(q.yaw) > self.max_yaw:
            return Rejection(QualityCode.TURNED_AWAY, q.yaw, self.max_yaw)
        return face
