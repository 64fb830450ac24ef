"""SORT (Bewley et al., 2016): a constant-velocity Kalman filter per face and Hungarian assignment on IoU.

Boxes are x1,y1,x2,y2. The filter state is [cx, cy, area, aspect, vcx, vcy, varea] as in the paper. A track
keeps its id through up to `max_age` frames without a matching detection (its box is predicted), and is
reported while the latest detections match it (one miss tolerated), once it has been matched `min_hits` times
in a row (or at once during the first frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N,4) against every box in b (M,4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    a = a[:, None, :]
    b = b[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return (inter / np.maximum(area_a + area_b - inter, 1e-9)).astype(np.float32)


def _to_z(box: np.ndarray) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w * h, w / max(h, 1e-6)], dtype=float).reshape(4, 1)


def _to_box(x: np.ndarray) -> np.ndarray:
    area, aspect = max(float(x[2, 0]), 1e-6), max(float(x[3, 0]), 1e-6)
    w = np.sqrt(area * aspect)
    h = area / w
    cx, cy = float(x[0, 0]), float(x[1, 0])
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float32)


class _KalmanBox:
    def __init__(self, box: np.ndarray) -> None:
        kf = KalmanFilter(dim_x=7, dim_z=4)
        kf.F = np.eye(7)
        kf.F[0, 4] = kf.F[1, 5] = kf.F[2, 6] = 1.0
        kf.H = np.eye(4, 7)
        kf.R[2:, 2:] *= 10.0
        kf.P[4:, 4:] *= 1000.0  # velocities are unknown at first
        kf.P *= 10.0
        kf.Q[-1, -1] *= 0.01
        kf.Q[4:, 4:] *= 0.01
        kf.x[:4] = _to_z(box)
        self.kf = kf

    def predict(self) -> np.ndarray:
        if self.kf.x[6, 0] + self.kf.x[2, 0] <= 0:
            self.kf.x[6, 0] = 0.0  # the area must not go negative
        self.kf.predict()
        return _to_box(self.kf.x)

    def update(self, box: np.ndarray) -> None:
        self.kf.update(_to_z(box))


@dataclass
class Track:
    track_id: int
    box: np.ndarray
    hits: int = 1  # matched detections in a row
    misses: int = 0  # frames since the last matched detection
    detection_index: int | None = None  # which detection matched this frame (None: predicted)
    _filter: _KalmanBox = field(repr=False, default=None)  # type: ignore[assignment]


class SortTracker:
    """Tracks boxes over frames. Call `update(boxes)` with the frame's detections, or `predict()` on frames
    where detection did not run; both return the tracks to report this frame."""

    def __init__(self, *, max_age: int = 15, min_hits: int = 2, iou_threshold: float = 0.3,
                 show_misses: int = 1) -> None:  # fmt: skip
        self.max_age = max_age
        self.show_misses = show_misses
        self.min_hits = min_hits
        self.iou_threshold = iou_threshold
        self.tracks: list[Track] = []
        self.frame_count = 0
        self._next_id = 1

    def _predict_all(self) -> None:
        for track in self.tracks:
            track.box = track._filter.predict()
            track.detection_index = None

    def update(self, boxes: np.ndarray) -> list[Track]:
        """Associate this frame's detections (N,4) with the tracks; start tracks for unmatched ones."""
        self.frame_count += 1
        self._predict_all()
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        predicted = np.array([t.box for t in self.tracks], dtype=np.float32).reshape(-1, 4)
        iou = iou_matrix(boxes, predicted)
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if iou.size:
            rows, cols = linear_sum_assignment(-iou)
            for d, t in zip(rows, cols, strict=True):
                if iou[d, t] >= self.iou_threshold:
                    track = self.tracks[t]
                    track._filter.update(boxes[d])
                    track.box = boxes[d].copy()
                    track.hits = track.hits + 1 if track.misses == 0 else 1
                    track.misses = 0
                    track.detection_index = int(d)
                    matched_tracks.add(t)
                    matched_dets.add(int(d))
        for t, track in enumerate(self.tracks):
            if t not in matched_tracks:
                track.misses += 1
        for d in range(len(boxes)):
            if d not in matched_dets:
                track = Track(track_id=self._next_id, box=boxes[d].copy(), detection_index=d,
                              _filter=_KalmanBox(boxes[d]))  # fmt: skip
                self._next_id += 1
                self.tracks.append(track)
        self.tracks = [t for t in self.tracks if t.misses <= self.max_age]
        return self.visible()

    def end_all(self) -> None:
        """Forget every track (a scene cut): the next detections start new tracks, with ids never used before."""
        self.tracks = []

    def predict(self) -> list[Track]:
        """A frame without detection: every track moves by its filter's prediction."""
        self.frame_count += 1
        self._predict_all()
        return self.visible()

    def visible(self) -> list[Track]:
        """Tracks worth reporting: confirmed (or young during the first frames) and matched by one of the last
        `show_misses + 1` detections. A track that missed longer keeps its id (up to max_age) but is not drawn:
        a prediction without evidence drifts."""
        warmup = self.frame_count <= self.min_hits
        return [t for t in self.tracks if (t.hits >= self.min_hits or warmup) and t.misses <= self.show_misses]
