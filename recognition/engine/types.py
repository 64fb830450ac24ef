"""Plain data passed between the engine's stages (BGR uint8 images, OpenCV convention)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EMOTION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass(frozen=True)
class Detection:
    """One detected face. ``box`` is x1,y1,x2,y2 and ``kps`` is (5,2) in original image pixels.

    Keypoint order: image-left eye, image-right eye, nose, left mouth corner, right mouth corner.
    """

    box: np.ndarray
    score: float
    kps: np.ndarray

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def short_side(self) -> float:
        return min(self.width, self.height)

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


@dataclass
class Emotion:
    label: str  # one of EMOTION_LABELS or "uncertain"
    probs: dict[str, float]
    confidence: float


@dataclass
class Quality:
    face_px: float  # short side of the detection box
    blur: float  # variance of the Laplacian on the aligned crop (higher = sharper)
    yaw: float  # degrees, estimated from keypoints; positive = nose towards image right
    pitch: float  # degrees, estimated from keypoints; positive = nose towards the eyes (head up)
    brightness: float  # mean gray level 0..255 of the aligned crop


@dataclass
class Face:
    detection: Detection
    quality: Quality
    embedding: np.ndarray | None = None  # float32 unit vector
    emotion: Emotion | None = None
    aligned: np.ndarray | None = None  # 112x112x3 BGR crop

    @property
    def box(self) -> np.ndarray:
        return self.detection.box

    @property
    def score(self) -> float:
        return self.detection.score

    @property
    def kps(self) -> np.ndarray:
        return self.detection.kps
