"""Choosing good enrollment photos from a stream of frames: one usable face, and not a pose we already have."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

import numpy as np

from recognition.engine.types import Face

R = TypeVar("R")  # the chooser's refusal: a code with its figures (e.g. recognition.domain.quality.Rejection)
Chooser = Callable[[list[Face]], "Face | R"]  # the face to keep, or why the frame is not usable


class Offer(StrEnum):
    KEPT = "kept"
    DUPLICATE_POSE = "duplicate_pose"  # a usable face, in a pose too close to a kept one
    REFUSED = "refused"  # the chooser refused the frame: `Offered.refusal` says why


@dataclass(frozen=True)
class Offered(Generic[R]):
    outcome: Offer
    face: Face | None = None  # the chosen face (kept or a duplicate pose)
    refusal: R | None = None  # the chooser's refusal (REFUSED only)

    @property
    def kept(self) -> bool:
        return self.outcome is Offer.KEPT


class PoseCollector(Generic[R]):
    """Keeps up to `wanted` frames whose chosen face passes the gate and whose head pose differs from every
    kept one by at least `min_pose_step` degrees (yaw/pitch distance), so the photos are not near copies."""

    def __init__(self, choose: Chooser, *, wanted: int = 8, min_pose_step: float = 6.0) -> None:
        self.choose = choose
        self.wanted = wanted
        self.min_pose_step = min_pose_step
        self.kept: list[np.ndarray] = []
        self.poses: list[tuple[float, float]] = []
        self.last: Offered[R] | None = None  # the latest frame's outcome

    @property
    def done(self) -> bool:
        return len(self.kept) >= self.wanted

    def offer(self, frame_bgr: np.ndarray, faces: list[Face]) -> Offered[R]:
        """Kept, a duplicate pose, or refused by the chooser (with its refusal)."""
        chosen = self.choose(faces)
        if not isinstance(chosen, Face):
            self.last = Offered(Offer.REFUSED, refusal=chosen)
            return self.last
        pose = (chosen.quality.yaw, chosen.quality.pitch)
        if any(np.hypot(pose[0] - y, pose[1] - p) < self.min_pose_step for y, p in self.poses):
            self.last = Offered(Offer.DUPLICATE_POSE, face=chosen)
            return self.last
        self.kept.append(frame_bgr)
        self.poses.append(pose)
        self.last = Offered(Offer.KEPT, face=chosen)
        return self.last
