"""Synthetic 5-point landmarks of a head (3D points rotated and projected) and of a flat photo of it (one
homography per frame), for testing the pure liveness rules without a detector."""

from __future__ import annotations

import math

import numpy as np

from recognition.domain.liveness import Observation

# A face in eye distances: eyes, nose tip (in front of the eye/mouth plane: negative z faces the camera), mouth
# corners; the nose's height between eyes and mouth is where detectors put it.
HEAD = np.array([[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.58, -0.55], [-0.4, 1.0, -0.05], [0.4, 1.0, -0.05]])
CENTRE = np.array([320.0, 220.0])
EYE_PX = 60.0  # eye distance in pixels at the reference distance
FOCAL = 12.0  # in eye distances: a webcam about 60 cm from the face


def head_points(yaw: float = 0.0, pitch: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    """The keypoints of a real head turned by yaw (> 0: nose toward image right) and pitch (> 0: chin up)."""
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    centred = HEAD - [0, 0.5, 0]
    points = centred @ (rx @ ry).T
    z = points[:, 2] + FOCAL
    xy = FOCAL * points[:, :2] / z[:, None]
    return xy * EYE_PX * scale + CENTRE + np.asarray(shift)


def box_of(kps: np.ndarray) -> np.ndarray:
    """A detector-like box around the keypoints."""
    (x1, y1), (x2, y2) = kps.min(axis=0), kps.max(axis=0)
    half = 0.85 * (y2 - y1)  # the eye-mouth height hardly changes with a turn
    return np.array([(x1 + x2) / 2 - half, y1 - 0.8 * half, (x1 + x2) / 2 + half, y2 + 0.5 * half])


def planar(kps: np.ndarray, perspective: float, scale: float = 1.0) -> np.ndarray:
    """The keypoints of a flat photo showing `kps`, tilted so one side goes away from the camera (a projective
    warp about the face's centre): every point moves by the same homography."""
    matrix = np.array([[1, 0, 0], [0, 1, 0], [perspective, 0, 1]])
    points = np.hstack([kps - CENTRE, np.ones((5, 1))]) @ matrix.T
    return points[:, :2] / points[:, 2:] * scale + CENTRE


def observe(t: float, kps: np.ndarray | None, rng: np.random.Generator | None = None, noise: float = 0.4):
    if kps is None:
        return Observation.of(t, [])
    if rng is not None:
        kps = kps + rng.normal(0, noise, kps.shape)
    return Observation.of(t, [(kps, box_of(kps))])


def smooth(a: float, b: float, f: float) -> float:
    return a + (b - a) * (0.5 - 0.5 * math.cos(math.pi * min(max(f, 0.0), 1.0)))


def head_turns(moves, fps: float = 10.0, still_s: float = 1.0, move_s: float = 0.6, hold_s: float = 0.4,
               seed: int = 0) -> list[Observation]:  # fmt: skip
    """A live head: still and frontal, then for each (yaw, pitch) target a smooth turn there, a hold and a
    smooth turn back, with detector-like jitter."""
    rng = np.random.default_rng(seed)
    keys = [(0.0, (0.0, 0.0)), (still_s, (0.0, 0.0))]
    t = still_s
    for target in moves:
        for dt, pose in ((move_s, target), (hold_s, target), (move_s, (0.0, 0.0))):
            t += dt
            keys.append((t, pose))
    frames = []
    for k in range(int((t + 0.5) * fps)):
        now = k / fps
        pose = keys[-1][1]
        for (t0, p0), (t1, p1) in zip(keys[:-1], keys[1:], strict=True):
            if t0 <= now <= t1:
                f = (now - t0) / max(t1 - t0, 1e-9)
                pose = (smooth(p0[0], p1[0], f), smooth(p0[1], p1[1], f))
                break
        sway = (2 * math.sin(1.7 * now), 1.5 * math.sin(1.1 * now + 1))  # a live head never holds perfectly still
        frames.append(observe(now, head_points(pose[0] + sway[0], pose[1] + sway[1]), rng))
    return frames
