"""Per-face quality figures used to accept or reject a face for enrollment and matching."""

from __future__ import annotations

import math

import cv2
import numpy as np

from recognition.engine.types import Detection, Quality

# Ratio of nose depth (in front of the eyes / mouth) to inter-eye distance and to eye-mouth height for an
# average adult face; they turn the keypoint offsets into angles (tan(angle) = offset / depth).
_NOSE_DEPTH_PER_EYE_DISTANCE = 0.45
_NOSE_DEPTH_PER_FACE_HEIGHT = 0.45
# Where the nose sits between the eye line (0) and the mouth line (1) on a frontal face, as the detectors
# place it: median 0.57-0.58 for SCRFD, RetinaFace and YuNet over the 130 identity photos in shared/data
# (the ArcFace template's 0.494 is not where detectors put the nose tip).
_FRONTAL_NOSE_HEIGHT = 0.58


def head_pose(kps: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees from the 5 keypoints, after removing roll.

    Yaw > 0: the nose is towards the image's right of the eye midpoint. Pitch > 0: the nose is closer to the
    eye line than on a frontal face (head tilted up). A rough estimate (about +-10 degrees), good for
    rejecting profile and strongly tilted faces, not for measuring them.
    """
    k = np.asarray(kps, dtype=np.float64).reshape(5, 2)
    eye_l, eye_r, nose, mouth_l, mouth_r = k
    eye_vec = eye_r - eye_l
    eye_dist = float(np.hypot(*eye_vec))
    if eye_dist < 1e-6:
        return 0.0, 0.0
    cos, sin = eye_vec / eye_dist
    rot = np.array([[cos, sin], [-sin, cos]])  # rotates the eye line onto the x axis
    eye_mid = (eye_l + eye_r) / 2
    mouth_mid = (mouth_l + mouth_r) / 2
    nose_r = rot @ (nose - eye_mid)
    mouth_r_ = rot @ (mouth_mid - eye_mid)
    # Horizontal offset of the nose from the midline through eyes and mouth, against the eye distance.
    midline_x = mouth_r_[0] * (nose_r[1] / mouth_r_[1]) if abs(mouth_r_[1]) > 1e-6 else 0.0
    yaw = math.degrees(math.atan2((nose_r[0] - midline_x) / eye_dist, _NOSE_DEPTH_PER_EYE_DISTANCE))
    face_h = float(mouth_r_[1])
    if abs(face_h) < 1e-6:
        return yaw, 0.0
    rel = float(nose_r[1]) / face_h
    pitch = math.degrees(math.atan2(_FRONTAL_NOSE_HEIGHT - rel, _NOSE_DEPTH_PER_FACE_HEIGHT))
    return yaw, pitch


def assess(detection: Detection, aligned: np.ndarray) -> Quality:
    """Face size, sharpness, pose and brightness of one detected face (``aligned`` is its 112x112 crop)."""
    gray = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY) if aligned.ndim == 3 else aligned
    blur = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    yaw, pitch = head_pose(detection.kps)
    return Quality(
        face_px=float(detection.short_side),
        blur=blur,
        yaw=float(yaw),
        pitch=float(pitch),
        brightness=float(gray.mean()),
    )
