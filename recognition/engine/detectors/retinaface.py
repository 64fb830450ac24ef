"""RetinaFace (mobilenet0.25, Pytorch_Retinaface layout) face detector with 5 keypoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recognition.engine.detectors.base import OnnxDetector, as_bgr, dynamic_letterbox, finalize, to_blob
from recognition.engine.types import Detection

_MEAN_BGR = (104.0, 117.0, 123.0)
_STRIDES = (8, 16, 32)
_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCES = (0.1, 0.2)


class RetinaFace(OnnxDetector):
    """BGR minus mean (104,117,123), NCHW, any size; outputs loc, softmaxed conf and 5 landmarks per prior."""

    name = "retinaface"

    def __init__(self, model_path: Path | str, session_factory: Callable, input_size: int = 640,
                 score_threshold: float = 0.8, nms_threshold: float = 0.4) -> None:  # fmt: skip
        super().__init__(model_path, session_factory, input_size=input_size, score_threshold=score_threshold,
                         nms_threshold=nms_threshold)  # fmt: skip
        self._prior_cache: dict[tuple[int, int], np.ndarray] = {}

    def _priors(self, height: int, width: int) -> np.ndarray:
        """Anchors (cx, cy, w, h) in canvas pixels, in the order of Pytorch_Retinaface's PriorBox."""
        key = (height, width)
        priors = self._prior_cache.get(key)
        if priors is None:
            parts = []
            for stride, sizes in zip(_STRIDES, _MIN_SIZES, strict=True):
                rows, cols = -(-height // stride), -(-width // stride)
                yy, xx = np.mgrid[:rows, :cols]
                centers = (np.stack([xx, yy], axis=-1).reshape(-1, 1, 2) + 0.5) * stride
                centers = np.broadcast_to(centers, (rows * cols, len(sizes), 2))
                wh = np.broadcast_to(
                    np.array(sizes, dtype=np.float32)[None, :, None], (rows * cols, len(sizes), 2)
                )
                parts.append(np.concatenate([centers, wh], axis=-1).reshape(-1, 4))
            priors = np.concatenate(parts).astype(np.float32)
            self._prior_cache[key] = priors
        return priors

    def detect(self, image_bgr: np.ndarray, *, max_faces: int = 0, min_size: float = 0) -> list[Detection]:
        image = as_bgr(image_bgr)
        lb = dynamic_letterbox(image, self.input_size)
        blob = to_blob(lb.canvas, mean=_MEAN_BGR)
        outputs = self.session.run(self.output_names, {self.input_name: blob})
        by_name = dict(zip(self.output_names, outputs, strict=True))
        loc, conf, landms = by_name["loc"][0], by_name["conf"][0], by_name["landmarks"][0]
        priors = self._priors(*lb.canvas.shape[:2])
        scores = conf[:, 1]
        pos = np.where(scores >= self.score_threshold)[0]
        if pos.size == 0:
            return []
        p, lo, lm = priors[pos], loc[pos], landms[pos]
        centers = p[:, :2] + lo[:, :2] * _VARIANCES[0] * p[:, 2:]
        sizes = p[:, 2:] * np.exp(lo[:, 2:] * _VARIANCES[1])
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)
        kps = np.tile(p[:, :2], 5) + lm * _VARIANCES[0] * np.tile(p[:, 2:], 5)
        return finalize(
            lb.to_image(boxes),
            scores[pos],
            lb.to_image(kps).reshape(-1, 5, 2),
            image_shape=image.shape,
            nms_threshold=self.nms_threshold,
            max_faces=max_faces,
            min_size=min_size,
        )
