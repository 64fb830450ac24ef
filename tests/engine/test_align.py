"""Alignment: Umeyama similarity onto the ArcFace template; the same crop whatever the face's roll."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.engine.align import ARCFACE_TEMPLATE, align_face, alignment_matrix, umeyama


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ matrix[:, :2].T + matrix[:, 2]


@pytest.mark.parametrize(
    "angle,scale,tx,ty", [(0, 1, 0, 0), (30, 2.5, 100, -40), (-75, 0.4, 5, 300), (180, 1.3, 0, 0)]
)
def test_umeyama_recovers_a_known_similarity(angle, scale, tx, ty):
    m = similarity(angle, scale, tx, ty)
    src = ARCFACE_TEMPLATE.astype(np.float64)
    est = umeyama(src, apply(m, src))
    assert np.allclose(est, m, atol=1e-6)


def test_alignment_matrix_sends_keypoints_onto_the_template():
    m = similarity(20, 3.0, 400, 250)
    kps = apply(m, ARCFACE_TEMPLATE.astype(np.float64))  # a face 3x the template size, rolled 20 degrees
    back = apply(alignment_matrix(kps), kps)
    assert np.abs(back - ARCFACE_TEMPLATE).max() < 1e-3
    assert np.abs(apply(alignment_matrix(kps, size=224), kps) - ARCFACE_TEMPLATE * 2).max() < 1e-3


def test_align_face_warps_marked_points_to_template_positions():
    # Draw five bright dots at rotated, scaled template positions; after alignment they sit on the template.
    m = similarity(-25, 2.0, 150, 120)
    kps = apply(m, ARCFACE_TEMPLATE.astype(np.float64))
    image = np.zeros((480, 480, 3), np.uint8)
    for x, y in kps:
        cv2.circle(image, (round(x), round(y)), 4, (255, 255, 255), -1)
    crop = align_face(image, kps)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    for x, y in ARCFACE_TEMPLATE:
        assert crop[round(y), round(x)].min() > 200


def test_real_face_aligns_to_the_same_crop_when_the_photo_is_rotated(astronaut, scrfd, arcface):
    """Rolling the whole photo by 35 degrees must not change the aligned crop's identity embedding."""
    (face,) = scrfd.detect(astronaut)
    upright = align_face(astronaut, face.kps)
    h, w = astronaut.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 35, 1.0)
    rotated = cv2.warpAffine(astronaut, rot, (w, h), borderValue=(128, 128, 128))
    (face_r,) = scrfd.detect(rotated)
    tilted = align_face(rotated, face_r.kps)
    # Without alignment (the box crop of the rotated photo) the face stays tilted.
    x1, y1, x2, y2 = face_r.box.astype(int)
    unaligned = cv2.resize(rotated[y1:y2, x1:x2], (112, 112))
    emb = arcface.embed(np.stack([upright, tilted, unaligned]))
    assert float(emb[0] @ emb[1]) > 0.8
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2]) + 0.1


def test_align_face_is_the_crop_opencv_feeds_sface(astronaut, retinaface, model_path):
    # SFace's own pipeline (cv2.FaceRecognizerSF.alignCrop) uses the ArcFace 5-point template and a least-squares
    # similarity: align_face must give the same crop, so SFace sees faces as it was meant to.
    if not hasattr(cv2, "FaceRecognizerSF"):
        pytest.skip("this OpenCV build has no FaceRecognizerSF")
    recognizer = cv2.FaceRecognizerSF.create(str(model_path("sface_2021dec")), "")
    (face,) = retinaface.detect(astronaut)
    row = np.zeros((1, 15), np.float32)
    row[0, 4:14] = face.kps.reshape(-1)
    opencv = recognizer.alignCrop(astronaut, row)
    ours = align_face(astronaut, face.kps)
    assert opencv.shape == ours.shape == (112, 112, 3)
    assert np.abs(opencv.astype(int) - ours.astype(int)).mean() < 0.05
