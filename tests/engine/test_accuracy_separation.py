"""bench.accuracy's harder measures: score separation and the degraded copies of the identity images."""

from __future__ import annotations

import numpy as np

from bench.accuracy import DEGRADATIONS, SMALL_FACE_PX, roc_metrics, separation


def test_separation_reports_the_tails_the_gap_and_d_prime():
    genuine = np.array([0.9, 0.8, 0.7, 0.6])
    impostor = np.array([0.0, 0.1, 0.2, 0.5])
    s = separation(genuine, impostor)
    assert s["gap"] == 0.6 - 0.5 and s["impostor"]["max"] == 0.5 and s["genuine"]["min"] == 0.6
    pooled_sd = np.sqrt((genuine.var() + impostor.var()) / 2)
    assert np.isclose(s["d_prime"], (genuine.mean() - impostor.mean()) / pooled_sd)
    # Overlap makes the gap negative while AUC stays high: the figure that still moves on easy data.
    assert separation(np.array([0.9, 0.4]), impostor)["gap"] < 0
    assert roc_metrics(genuine, impostor)["d_prime"] == s["d_prime"]


def test_degradations_shrink_blur_and_gray_the_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)
    small = DEGRADATIONS["small"](image, 180.0)
    assert small.shape[:2] == (round(400 * SMALL_FACE_PX / 180), round(300 * SMALL_FACE_PX / 180))
    assert DEGRADATIONS["small"](image, 20.0) is image  # never enlarged
    blurred = DEGRADATIONS["blurjpeg"](image, 160.0)
    assert blurred.shape == (200, 150, 3) and blurred.std() < image.std()
    gray = DEGRADATIONS["gray"](image, 100.0)
    assert gray.shape == image.shape and (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
