"""Calibration figures on known score sets, leave-one-out counting, and the histogram chart."""

from __future__ import annotations

import re

import numpy as np
import pytest

from recognition.calibration.chart import histogram_svg
from recognition.domain.calibration import (
    calibrate_arrays,
    equal_error,
    leave_one_out_scores,
    sample_per_person,
    summarise,
    threshold_for_far,
)
from recognition.domain.matching import MatchPolicy
from recognition.services.calibration import pooling


def test_threshold_for_a_measurable_far_accepts_exactly_that_share_of_impostors():
    impostor = np.linspace(0.0, 0.5, 1000)
    threshold, measured = threshold_for_far(impostor, 1e-2)
    assert measured
    assert (impostor >= threshold).sum() == 10
    threshold, measured = threshold_for_far(impostor, 1e-3)
    assert measured and (impostor >= threshold).sum() == 1


def test_threshold_below_what_the_data_can_measure_is_extrapolated_and_never_below_the_highest_impostor():
    rng = np.random.default_rng(0)
    impostor = rng.normal(0.05, 0.07, 500)
    threshold, measured = threshold_for_far(impostor, 1e-5)
    assert not measured
    assert threshold > impostor.max()
    assert threshold == pytest.approx(0.05 + 4.265 * 0.07, abs=0.03)  # the Gaussian tail at 1e-5
    # a heavy outlier raises it to just above that impostor
    threshold, _ = threshold_for_far(np.append(impostor, 0.9), 1e-5)
    assert 0.9 < threshold < 0.9001


def test_equal_error_rate_of_overlapping_and_separated_sets():
    genuine = np.array([0.5, 0.6, 0.7, 0.8, 0.3])
    impostor = np.array([0.1, 0.2, 0.35, 0.15, 0.05])
    eer, _ = equal_error(genuine, impostor)
    assert eer == pytest.approx(0.2)  # one genuine below, one impostor above the crossing
    eer, threshold = equal_error(np.array([0.6, 0.7]), np.array([0.1, 0.2]))
    assert eer == 0.0 and threshold == pytest.approx(0.4)


def test_summary_reports_tar_only_where_far_is_measurable():
    genuine = np.linspace(0.3, 0.9, 200)
    impostor = np.linspace(-0.1, 0.35, 2000)
    result = summarise(genuine, impostor, target_far=1e-3)
    assert result.tar_at_far["1e-04"] is None  # 2,000 impostor scores cannot measure 1e-4
    assert result.tar_at_far["1e-02"] is not None and result.tar_at_far["1e-03"] is not None
    assert result.tar_at_far["1e-02"] >= result.tar_at_far["1e-03"]
    assert result.resolved and result.far_at_proposed <= 1e-3


def test_leave_one_out_counts_one_genuine_per_probe_with_a_second_image():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(7, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    people = np.array([1, 1, 1, 2, 2, 3, 4])  # persons 3 and 4 have one image each
    genuine, impostor, probes = leave_one_out_scores(vectors, people, pooling(MatchPolicy(0.3, 0.05)))
    assert probes == 7
    assert genuine.size == 5  # the 5 images of persons 1 and 2
    # every probe meets every other person once: persons 1-2 probes see 3 others, persons 3/4 probes too
    assert impostor.size == 7 * 3


def test_separated_gallery_proposes_a_threshold_between_the_distributions():
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(6, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors, people = [], []
    for p, c in enumerate(centres):
        for _ in range(4):
            v = c + 0.6 * rng.normal(size=128) / np.sqrt(128)
            vectors.append(v / np.linalg.norm(v))
            people.append(p)
    result = calibrate_arrays(np.array(vectors), np.array(people), pooling(MatchPolicy(0.3, 0.05)), target_far=1e-3)
    assert result.eer == 0.0
    assert result.impostor.max() < result.proposed_threshold < result.genuine.min()
    assert result.tar_at_proposed == 1.0 and not result.resolved  # 120 impostor scores cannot measure 1e-3


def test_histogram_chart_draws_both_distributions_and_both_thresholds():
    genuine = np.array([0.55, 0.6, 0.62, 0.7, 0.8])
    impostor = np.array([-0.05, 0.0, 0.02, 0.1, 0.12, 0.2])
    svg = histogram_svg(genuine, impostor, current=0.32, proposed=0.4)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="genuine"') >= 3 and svg.count('class="impostor"') >= 3
    current = float(re.search(r'class="threshold-current" x1="([0-9.]+)"', svg).group(1))
    proposed = float(re.search(r'class="threshold-proposed" x1="([0-9.]+)"', svg).group(1))
    bars = [float(x) for x in re.findall(r'class="genuine" x="([0-9.]+)"', svg)]
    assert current < proposed < min(bars)  # 0.32 and 0.40 sit left of the lowest genuine score (0.55)


def test_a_sample_takes_the_same_number_of_images_from_everyone_and_is_deterministic():
    people = np.repeat(np.arange(10), [1, 2, 3, 50, 50, 5, 5, 5, 5, 5])
    kept = sample_per_person(people, 40)
    assert kept.size == 34 and list(np.bincount(people[kept])) == [1, 2, 3, 4, 4, 4, 4, 4, 4, 4]
    assert np.array_equal(kept, sample_per_person(people, 40)) and np.all(np.diff(kept) > 0)
    assert not np.array_equal(kept, sample_per_person(people, 40, seed=1))
    assert np.array_equal(sample_per_person(people, 1000), np.arange(people.size))  # small galleries whole


def test_with_too_many_people_a_sample_keeps_whole_pairs_of_a_seeded_subset():
    people = np.repeat(np.arange(100), 3)
    kept = sample_per_person(people, 51)
    counts = np.bincount(people[kept], minlength=100)
    assert kept.size == 50 and set(counts.tolist()) == {0, 2}  # two images each: genuine scores remain
