"""Abrupt changes in a video: scene cuts over the whole frame, and a face that changes under its track's box.

A tracker associates boxes by overlap, so a new face that appears where a tracked face was (a cut to another
shot, one person stepping in front of another, people taking turns at a kiosk) would inherit the old track and
its name. Both changes are seen in a small grey thumbnail of every frame, at a cost of one resize:
- a cut: the mean absolute difference to the previous thumbnail spikes, far above the recent differences (a
  camera pan or a person walking changes a frame a lot too, but for several frames in a row, not once);
- a changed face: the same spike, measured only inside one box.
The differences are grey levels (0-255) of a 160x90 thumbnail; the thresholds were measured on the shared
real clips (camera motion, head turns, people walking) and composed hard cuts (bench/RESULTS.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

THUMB_SIZE = (160, 90)


@dataclass(frozen=True)
class ChangeOptions:
    cut_min: float = 6.0  # a cut changes the thumbnail by at least this much on average...
    cut_ratio: float = 3.0  # ...and by this many times the recent (median) change
    region_min: float = 12.0  # the same two tests inside one face's box
    region_ratio: float = 3.0
    history: int = 6  # frames of recent change the ratios compare with
    floor: float = 1.0  # the smallest "recent change" (encoder noise), so a still scene does not cut on noise


class FrameChange:
    """Feed every frame in order with `observe(frame)`; it says whether the frame starts a new shot. Then
    `region_changed(box, key)` says whether the content under a box changed abruptly since the last frame."""

    def __init__(self, options: ChangeOptions = ChangeOptions()) -> None:
        self.options = options
        self._previous: np.ndarray | None = None
        self._current: np.ndarray | None = None
        self._scale = (1.0, 1.0)
        self._recent: deque[float] = deque(maxlen=options.history)
        self._recent_regions: dict[int, deque[float]] = {}

    def observe(self, frame_bgr: np.ndarray) -> bool:
        """True when this frame is a cut from the previous one (never for the first frame)."""
        gray = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(gray, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        self._previous, self._current = self._current, thumb
        self._scale = (THUMB_SIZE[0] / frame_bgr.shape[1], THUMB_SIZE[1] / frame_bgr.shape[0])
        if self._previous is None:
            return False
        change = float(np.mean(np.abs(thumb - self._previous)))
        cut = len(self._recent) >= 2 and self._spike(change, self._recent, self.options.cut_min, self.options.cut_ratio)
        self._recent.append(change)
        if cut:
            self._recent_regions.clear()
        return cut

    def region_changed(self, box, key: int) -> bool:
        """True when the content under `box` (x1,y1,x2,y2 in frame pixels) jumped between the last two frames;
        `key` names the box's owner (a track id), whose own recent changes the jump is compared with."""
        if self._previous is None or self._current is None:
            return False
        sx, sy = self._scale
        x1, y1 = max(int(box[0] * sx), 0), max(int(box[1] * sy), 0)
        x2 = min(int(np.ceil(box[2] * sx)), THUMB_SIZE[0])
        y2 = min(int(np.ceil(box[3] * sy)), THUMB_SIZE[1])
        if x2 - x1 < 2 or y2 - y1 < 2:
            return False
        change = float(np.mean(np.abs(self._current[y1:y2, x1:x2] - self._previous[y1:y2, x1:x2])))
        recent = self._recent_regions.setdefault(key, deque(maxlen=self.options.history))
        # A box needs a little history of its own first: a face that just appeared may be moving fast.
        jumped = len(recent) >= 2 and self._spike(change, recent, self.options.region_min, self.options.region_ratio)
        recent.append(change)
        return jumped

    def forget(self, keys) -> None:
        """Drop the history of owners that are gone (ended tracks)."""
        for key in list(self._recent_regions):
            if key not in keys:
                del self._recent_regions[key]

    def _spike(self, change: float, recent: deque[float], minimum: float, ratio: float) -> bool:
        """A change far above the usual one. The usual change is the recent median, or the last change when that
        was larger: right after a cut the camera often moves fast, and a cut does not follow a cut."""
        usual = max(float(np.median(recent)) if recent else 0.0, recent[-1] if recent else 0.0, self.options.floor)
        return change >= minimum and change >= ratio * usual
