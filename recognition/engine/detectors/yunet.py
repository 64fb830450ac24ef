"""YuNet (OpenCV Zoo, 2023mar) face detector run through onnxruntime on a fixed 640x640 input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recognition.engine.detectors.base import OnnxDetector, as_bgr, finalize, letterbox, to_blob
from recognition.engine.types import Detection


class YuNet(OnnxDetector):
    """BGR 0..255 float, no normalisation, 1x3xHxW (640x640 in the zoo file); score = sqrt(cls * obj).

    Decoding follows OpenCV's FaceDetectorYN: per stride, cx = (col + dx) * stride, w = exp(dw) * stride,
    keypoints = (col + kx) * stride.
    """

    name = "yunet"
    strides = (8, 16, 32)

    def __init__(self, model_path: Path | str, session_factory: Callable, input_size: int = 640,
                 score_threshold: float = 0.8, nms_threshold: float = 0.3) -> None:  # fmt: skip
        super().__init__(model_path, session_factory, input_size=input_size, score_threshold=score_threshold,
                         nms_threshold=nms_threshold)  # fmt: skip
        # The zoo model has a fixed input; only a dynamic export can honour another input_size.
        self.size = self.fixed_size or (self.input_size, self.input_size)
        self._grid_cache: dict[tuple[int, int], np.ndarray] = {}

    def _grid(self, rows: int, cols: int) -> np.ndarray:
        grid = self._grid_cache.get((rows, cols))
        if grid is None:
            yy, xx = np.mgrid[:rows, :cols]
            grid = np.stack([xx, yy], axis=-1).reshape(-1, 2).astype(np.float32)
            self._grid_cache[(rows, cols)] = grid
        return grid

    def detect(self, image_bgr: np.ndarray, *, max_faces: int = 0, min_size: float = 0) -> list[Detection]:
        image = as_bgr(image_bgr)
        lb = letterbox(image, *self.size)
        blob = to_blob(lb.canvas)
        outputs = self.session.run(self.output_names, {self.input_name: blob})
        by_name = dict(zip(self.output_names, outputs, strict=True))
        width, height = self.size
        all_boxes, all_scores, all_kps = [], [], []
        for stride in self.strides:
            cls = np.clip(by_name[f"cls_{stride}"].reshape(-1), 0, 1)
            obj = np.clip(by_name[f"obj_{stride}"].reshape(-1), 0, 1)
            scores = np.sqrt(cls * obj)
            pos = np.where(scores >= self.score_threshold)[0]
            if pos.size == 0:
                continue
            grid = self._grid(height // stride, width // stride)[pos]
            bbox = by_name[f"bbox_{stride}"].reshape(-1, 4)[pos]
            kps = by_name[f"kps_{stride}"].reshape(-1, 10)[pos]
            centers = (grid + bbox[:, :2]) * stride
            sizes = np.exp(bbox[:, 2:]) * stride
            all_boxes.append(np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1))
            all_kps.append((kps + np.tile(grid, 5)) * stride)
            all_scores.append(scores[pos])
        if not all_scores:
            return []
        return finalize(
            lb.to_image(np.concatenate(all_boxes)),
            np.concatenate(all_scores),
            lb.to_image(np.concatenate(all_kps)).reshape(-1, 5, 2),
            image_shape=image.shape,
            nms_threshold=self.nms_threshold,
            max_faces=max_faces,
            min_size=min_size,
        )
