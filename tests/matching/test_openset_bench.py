"""bench.openset's protocol on synthetic embeddings: splits, same-person collisions, and the counting."""

from __future__ import annotations

import numpy as np

from bench.accuracy import IdentityImage
from bench.openset import evaluate_pack, evaluate_split, split, threshold_for_fpir
from recognition.domain.matching import MatchPolicy


def synthetic(n_people: int = 10, per_person: int = 4, noise: float = 0.4, seed: int = 0):
    rng = np.random.default_rng(seed)
    images, embeddings = [], {}
    for p in range(n_people):
        centre = rng.normal(size=128)
        centre /= np.linalg.norm(centre)
        for k in range(per_person):
            v = centre + noise * rng.normal(size=128) / np.sqrt(128)
            path = f"identities/s_p{p}/{k}.jpg"
            images.append(IdentityImage(path, f"s_p{p}", "s"))
            embeddings[path] = (v / np.linalg.norm(v)).astype(np.float32)
    return images, embeddings


def test_split_keeps_enrolled_and_stranger_identities_apart():
    images, _ = synthetic()
    gallery, probes, strangers = split(images, np.random.default_rng(1))
    enrolled = {im.identity for im in gallery}
    assert len(enrolled) == 7  # 70% of 10
    assert {im.identity for im in probes} <= enrolled
    assert not {im.identity for im in strangers} & enrolled
    assert len(gallery) + len(probes) + len(strangers) == len(images)
    assert not {im.path for im in gallery} & {im.path for im in probes}


def test_a_stranger_who_is_an_enrolled_person_under_another_set_is_dropped():
    images = [IdentityImage(f"identities/facerec_obama/{k}.jpg", "facerec_obama", "face_recognition") for k in range(3)]
    images += [IdentityImage(f"identities/glint_Barack_Obama/{k}.jpg", "glint_Barack_Obama", "glint") for k in range(3)]
    for seed in range(10):
        gallery, _, strangers = split(images, np.random.default_rng(seed))
        if gallery:  # one of the two enrolled: the other must never be a stranger
            assert strangers == []


def test_counts_follow_the_decision():
    images, embeddings = synthetic()
    gallery, probes, strangers = split(images, np.random.default_rng(2))
    easy = evaluate_split(embeddings, gallery, probes, strangers, MatchPolicy(0.5, 0.05))
    assert easy["tpir"] == 1.0 and easy["fpir"] == 0.0 and easy["misidentified"] == 0
    nobody = evaluate_split(embeddings, gallery, probes, strangers, MatchPolicy(0.999, 0.05))
    assert nobody["tpir"] == 0.0 and nobody["fpir"] == 0.0
    everybody = evaluate_split(embeddings, gallery, probes, strangers, MatchPolicy(-1.0, 0.0))
    assert everybody["fpir"] == 1.0  # with no bar at all, every stranger is someone


def test_report_has_mean_and_spread_over_splits():
    images, embeddings = synthetic(seed=3)
    result = evaluate_pack(embeddings, images, MatchPolicy(0.5, 0.05), splits=4)
    assert result["splits"] == 4
    assert set(result["fpir_spread"]) == {"mean", "std", "min", "max"}
    assert result["fpir"] == result["fpir_spread"]["mean"] and 0.0 <= result["tpir"] <= 1.0
    assert result["calibrated"]["threshold"]["mean"] > 0.0


def test_operating_point_is_the_lowest_threshold_that_keeps_strangers_at_1_percent():
    images, embeddings = synthetic(n_people=20, noise=1.2, seed=4)
    gallery, probes, strangers = split(images, np.random.default_rng(5))
    policy = MatchPolicy(0.5, 0.0)
    at = threshold_for_fpir(embeddings, gallery, strangers, policy)
    assert evaluate_split(embeddings, gallery, probes, strangers, MatchPolicy(at, 0.0))["fpir"] <= 0.01
    below = MatchPolicy(float(np.nextafter(at, -np.inf)), 0.0)
    assert evaluate_split(embeddings, gallery, probes, strangers, below)["fpir"] > 0.01
    result = evaluate_pack(embeddings, images, policy, splits=3)["at_fpir_1e-2"]
    assert result["fpir"]["max"] <= 0.01 and 0.0 <= result["tpir"]["mean"] <= 1.0
