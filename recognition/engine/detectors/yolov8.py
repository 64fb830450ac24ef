"""YOLOv8-face (user-supplied ONNX in the common export layout); no weights ship with the project.

Layout: input 1x3xHxW RGB 0..1 (letterboxed, grey 114 padding, centred as Ultralytics does); output
(1, 4+1+15, N): cx, cy, w, h, score, then 5 x (x, y, visibility), all in input-canvas pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recognition.engine.detectors.base import OnnxDetector, as_bgr, finalize, letterbox, to_blob
from recognition.engine.types import Detection

_CHANNELS = 4 + 1 + 15


class YOLOv8Face(OnnxDetector):
    name = "yolov8"

    def __init__(self, model_path: Path | str, session_factory: Callable, input_size: int = 640,
                 score_threshold: float = 0.5, nms_threshold: float = 0.45) -> None:  # fmt: skip
        super().__init__(model_path, session_factory, input_size=input_size, score_threshold=score_threshold,
                         nms_threshold=nms_threshold)  # fmt: skip
        self.size = self.fixed_size or (self.input_size, self.input_size)
        self.output_name = self.output_names[0]

    def decode(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(1, 20, N) or (1, N, 20) raw output -> canvas boxes (M,4) x1y1x2y2, scores (M,), kps (M,5,2)."""
        out = np.asarray(output, dtype=np.float32)
        if out.ndim == 3:
            out = out[0]
        if out.ndim != 2 or _CHANNELS not in out.shape:
            raise ValueError(f"unexpected YOLOv8-face output shape {np.shape(output)}; want (1, 20, N)")
        if out.shape[0] != _CHANNELS:  # some exports are transposed to (N, 20)
            out = out.T
        scores = out[4]
        pos = np.where(scores >= self.score_threshold)[0]
        cx, cy, w, h = out[0, pos], out[1, pos], out[2, pos], out[3, pos]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        kps = out[5:, pos].T.reshape(-1, 5, 3)[:, :, :2]
        return boxes, scores[pos], kps

    def detect(self, image_bgr: np.ndarray, *, max_faces: int = 0, min_size: float = 0) -> list[Detection]:
        image = as_bgr(image_bgr)
        lb = letterbox(image, *self.size, center=True, fill=114)
        blob = to_blob(lb.canvas, scale=1 / 255.0, swap_rb=True)
        (output,) = self.session.run([self.output_name], {self.input_name: blob})
        boxes, scores, kps = self.decode(output)
        if len(scores) == 0:
            return []
        return finalize(
            lb.to_image(boxes),
            scores,
            lb.to_image(kps.reshape(-1, 10)).reshape(-1, 5, 2),
            image_shape=image.shape,
            nms_threshold=self.nms_threshold,
            max_faces=max_faces,
            min_size=min_size,
        )
