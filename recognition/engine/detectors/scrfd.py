"""SCRFD (InsightFace) face detector with 5 keypoints; tested with scrfd_500m_bnkps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recognition.engine.detectors.base import (
    OnnxDetector,
    as_bgr,
    dynamic_letterbox,
    finalize,
    letterbox,
    to_blob,
)
from recognition.engine.types import Detection


class SCRFD(OnnxDetector):
    """RGB, (x-127.5)/128, NCHW; strides 8/16/32 with 2 anchors per cell; box/kps are distances x stride."""

    name = "scrfd"
    strides = (8, 16, 32)

    def __init__(self, model_path: Path | str, session_factory: Callable, input_size: int = 640,
                 score_threshold: float = 0.5, nms_threshold: float = 0.4) -> None:  # fmt: skip
        super().__init__(model_path, session_factory, input_size=input_size, score_threshold=score_threshold,
                         nms_threshold=nms_threshold)  # fmt: skip
        names = self.output_names
        if len(names) != 9:
            raise ValueError(f"expected an SCRFD model with 9 outputs (bnkps), got {len(names)}")
        # InsightFace exports list scores, boxes, keypoints per stride in that order; named exports
        # (score_8, bbox_8, kps_8, ...) are put in that order explicitly.
        wanted = [f"{kind}_{s}" for kind in ("score", "bbox", "kps") for s in self.strides]
        self.output_names = wanted if set(wanted) == set(names) else names
        self._anchor_cache: dict[tuple[int, int, int], np.ndarray] = {}

    def _anchors(self, rows: int, cols: int, stride: int) -> np.ndarray:
        key = (rows, cols, stride)
        centers = self._anchor_cache.get(key)
        if centers is None:
            yy, xx = np.mgrid[:rows, :cols]
            centers = (np.stack([xx, yy], axis=-1).reshape(-1, 2) * stride).astype(np.float32)
            centers = np.repeat(centers, 2, axis=0)  # 2 anchors per cell
            self._anchor_cache[key] = centers
        return centers

    def detect(self, image_bgr: np.ndarray, *, max_faces: int = 0, min_size: float = 0) -> list[Detection]:
        image = as_bgr(image_bgr)
        if self.fixed_size:
            lb = letterbox(image, *self.fixed_size)
        else:
            lb = dynamic_letterbox(image, self.input_size)
        canvas = lb.canvas
        blob = to_blob(canvas, scale=1 / 128.0, mean=(127.5, 127.5, 127.5), swap_rb=True)
        outs = self.session.run(self.output_names, {self.input_name: blob})
        ch, cw = canvas.shape[:2]
        all_boxes, all_scores, all_kps = [], [], []
        for i, stride in enumerate(self.strides):
            scores = outs[i].reshape(-1)
            bbox = outs[i + 3].reshape(-1, 4) * stride
            kps = outs[i + 6].reshape(-1, 10) * stride
            centers = self._anchors(ch // stride, cw // stride, stride)
            pos = np.where(scores >= self.score_threshold)[0]
            if pos.size == 0:
                continue
            c = centers[pos]
            b = bbox[pos]
            all_boxes.append(np.concatenate([c - b[:, :2], c + b[:, 2:]], axis=1))
            all_kps.append(np.tile(c, 5) + kps[pos])
            all_scores.append(scores[pos])
        if not all_scores:
            return []
        boxes = lb.to_image(np.concatenate(all_boxes))
        kps = lb.to_image(np.concatenate(all_kps)).reshape(-1, 5, 2)
        return finalize(
            boxes,
            np.concatenate(all_scores),
            kps,
            image_shape=image.shape,
            nms_threshold=self.nms_threshold,
            max_faces=max_faces,
            min_size=min_size,
        )
