"""Head pose and the flat-photo test from the 5 detector keypoints.

Keypoint order (every 5-point detector of the engine): image-left eye, image-right eye, nose, left mouth
corner, right mouth corner, in pixels. "Left" and "right" are IMAGE terms throughout: yaw > 0 means the nose
points toward the image's right. In an unmirrored camera frame that is the person's own left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Nose depth in front of the eye/mouth plane against the eye distance and the eye-mouth height of an average
# adult face: turns the nose's offset into an angle (tan(angle) = offset / depth). The same constants as the
# engine's quality figures, so a pose here and a pose on a face's quality agree.
NOSE_DEPTH_PER_EYE_DISTANCE = 0.45
NOSE_DEPTH_PER_FACE_HEIGHT = 0.45
# Where detectors put the nose between the eye line (0) and the mouth line (1) on a frontal face.
FRONTAL_NOSE_HEIGHT = 0.58

MIRROR_ORDER = (1, 0, 2, 4, 3)  # keypoint order after a horizontal flip: the two eyes and mouth corners swap


@dataclass(frozen=True)
class HeadPose:
    yaw: float  # degrees; > 0: nose toward image right
    pitch: float  # degrees; > 0: head tilted up (nose closer to the eye line than on a frontal face)


def as_keypoints(kps) -> np.ndarray:
    points = np.asarray(kps, dtype=np.float64).reshape(5, 2)
    if not np.all(np.isfinite(points)):
        raise ValueError("keypoints must be finite numbers")
    return points


def eye_distance(kps) -> float:
    points = as_keypoints(kps)
    return float(np.hypot(*(points[1] - points[0])))


def head_pose(kps) -> HeadPose:
    """Yaw and pitch in degrees after removing roll: a rough estimate (about +-10 degrees absolute), good for
    telling which way and roughly how far a head turns from its own starting pose."""
    eye_l, eye_r, nose, mouth_l, mouth_r = as_keypoints(kps)
    eye_vec = eye_r - eye_l
    eye_dist = float(np.hypot(*eye_vec))
    if eye_dist < 1e-6:
        return HeadPose(0.0, 0.0)
    cos, sin = eye_vec / eye_dist
    rot = np.array([[cos, sin], [-sin, cos]])  # turns the eye line onto the x axis
    eye_mid = (eye_l + eye_r) / 2
    nose_r = rot @ (nose - eye_mid)
    mouth_r = rot @ ((mouth_l + mouth_r) / 2 - eye_mid)
    if abs(mouth_r[1]) < 1e-6:
        return HeadPose(0.0, 0.0)
    midline_x = mouth_r[0] * (nose_r[1] / mouth_r[1])  # the eye-mouth midline at the nose's height
    yaw = math.degrees(math.atan2((nose_r[0] - midline_x) / eye_dist, NOSE_DEPTH_PER_EYE_DISTANCE))
    rel = float(nose_r[1]) / float(mouth_r[1])
    pitch = math.degrees(math.atan2(FRONTAL_NOSE_HEIGHT - rel, NOSE_DEPTH_PER_FACE_HEIGHT))
    return HeadPose(yaw, pitch)


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """The plane projection (3x3, h33 = 1) taking 4 points `src` exactly onto `dst`; None when degenerate
    (three of them in a line)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(np.asarray(src, np.float64), np.asarray(dst, np.float64), strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    a = np.asarray(rows)
    if np.linalg.cond(a) > 1e10:
        return None
    h = np.linalg.solve(a, np.asarray(rhs))
    return np.append(h, 1.0).reshape(3, 3)


def off_plane(reference_kps, kps) -> float:
    """How far the nose leaves the plane of the eyes and mouth corners between two views, in eye distances of
    the reference view.

    A flat photo moved, tilted or bent by one perspective in front of a camera changes all 5 points by one
    homography: the 4 eye and mouth points define it exactly, and it then predicts where the nose goes (0 up to
    the detector's noise). A real head that turns moves its nose, which stands out of that plane, against it.
    Returns 0.0 when the 4 points cannot define a projection (a degenerate, collinear face)."""
    ref, cur = as_keypoints(reference_kps), as_keypoints(kps)
    plane = [0, 1, 3, 4]
    h = homography(ref[plane], cur[plane])
    if h is None:
        return 0.0
    x, y, w = h @ np.array([ref[2, 0], ref[2, 1], 1.0])
    if abs(w) < 1e-9:
        return 0.0
    predicted = np.array([x / w, y / w])
    scale = eye_distance(ref)
    return float(np.hypot(*(cur[2] - predicted)) / scale) if scale > 1e-6 else 0.0


def foreshortening(reference_kps, reference_box, kps, box) -> tuple[float, float]:
    """(sideways, vertical) foreshortening between two views, in degrees: the angle whose cosine is how much the
    eye distance shrank against the face box's height (a turn about the vertical axis), or the eye-mouth height
    against the eye distance (a tilt about the horizontal one).

    A photo has to be tilted far (25-35 degrees) before the detector places its nose as a head's after a 12
    degree turn, and then its eyes close up far more than a turning head's do (whose box keeps its size)."""
    def ratios(points: np.ndarray, face_box) -> tuple[float, float]:
        eyes = eye_distance(points)
        height = float(np.hypot(*((points[3] + points[4]) / 2 - (points[0] + points[1]) / 2)))
        box_height = float(face_box[3] - face_box[1])
        return (eyes / box_height if box_height > 1e-6 else 0.0), (height / eyes if eyes > 1e-6 else 0.0)

    (side0, up0), (side, up) = ratios(as_keypoints(reference_kps), reference_box), ratios(as_keypoints(kps), box)

    def angle(now: float, before: float) -> float:
        return math.degrees(math.acos(min(1.0, now / before))) if before > 0 and now > 0 else 0.0

    return angle(side, side0), angle(up, up0)


def mirror_keypoints(kps, width: float) -> np.ndarray:
    """The keypoints of the horizontally flipped image (`width` pixels wide), in the detector's order."""
    points = as_keypoints(kps).copy()
    points[:, 0] = width - points[:, 0]
    return points[list(MIRROR_ORDER)]


def mirror_box(box, width: float) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([width - x2, y1, width - x1, y2])
