"""5-point similarity alignment to the ArcFace 112x112 template (same path for enrollment and query)."""

from __future__ import annotations

import cv2
import numpy as np

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) mapping src onto dst.

    Umeyama (1991), as scikit-image's SimilarityTransform.estimate; returns a 2x3 float64 matrix.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n = src.shape[0]
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1
    u, s, vt = np.linalg.svd(cov)
    rank = np.linalg.matrix_rank(cov)
    if rank == 0:
        raise ValueError("degenerate keypoints: cannot estimate a similarity transform")
    if rank == 1:
        if np.linalg.det(u) * np.linalg.det(vt) > 0:
            rot = u @ vt
        else:
            d_last = d[1]
            d[1] = -1
            rot = u @ np.diag(d) @ vt
            d[1] = d_last
    else:
        rot = u @ np.diag(d) @ vt
    src_var = (src_c**2).sum() / n
    scale = (s @ d) / src_var if src_var > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def alignment_matrix(kps: np.ndarray, size: int = 112) -> np.ndarray:
    """2x3 matrix that maps image coordinates onto the ``size`` x ``size`` ArcFace template."""
    template = ARCFACE_TEMPLATE * (size / 112.0)
    return umeyama(np.asarray(kps, dtype=np.float64).reshape(5, 2), template)


def align_face(image_bgr: np.ndarray, kps: np.ndarray, size: int = 112) -> np.ndarray:
    """Warp the face with keypoints ``kps`` (5,2) to a ``size`` x ``size`` BGR crop."""
    matrix = alignment_matrix(kps, size)
    return cv2.warpAffine(image_bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
