"""Choosing good enrollment photos from a stream of frames: one usable face, and not a pose we already have."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recognition.engine.types import Face

Chooser = Callable[[list[Face]], "Face | str"]  # the face to keep, or why the frame is not usable


class PoseCollector:
    """Keeps up to `wanted` frames whose chosen face passes the gate and whose head pose differs from every
    kept one by at least `min_pose_step` degrees (yaw/pitch distance), so the photos are not near copies."""

    def __init__(self, choose: Chooser, *, wanted: int = 8, min_pose_step: float = 6.0) -> None:
        self.choose = choose
        self.wanted = wanted
        self.min_pose_step = min_pose_step
        self.kept: list[np.ndarray] = []
        self.poses: list[tuple[float, float]] = []
        self.last_reason = ""

    @property
    def done(self) -> bool:
        return len(self.kept) >= self.wanted

    def offer(self, frame_bgr: np.ndarray, faces: list[Face]) -> str:
        """'kept', 'duplicate pose', or the gate's reason for refusing the frame."""
        chosen = self.choose(faces)
        if isinstance(chosen, str):
            self.last_reason = chosen
            return chosen
        pose = (chosen.quality.yaw, chosen.quality.pitch)
        if any(np.hypot(pose[0] - y, pose[1] - p) < self.min_pose_step for y, p in self.poses):
            self.last_reason = "duplicate pose"
            return self.last_reason
        self.kept.append(frame_bgr)
        self.poses.append(pose)
        return "kept"
