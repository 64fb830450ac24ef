"""The match decision on candidate scores: per person, threshold and margin, one identity per picture. Pure: no
Django, no database."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recognition.domain.matching import (
    Decision,
    Hit,
    InMemoryGallery,
    MatchPolicy,
    PersonScore,
    assign,
    decide,
    match_faces,
    max_assignment,
    pool_hits,
    pool_scores,
)

POLICY = MatchPolicy(threshold=0.4, margin=0.05, top_k=3, max_weight=0.5)


def scores(**by_person: float) -> list[PersonScore]:
    """Pooled scores from {person_id as 'p<id>': score}, best first."""
    out = [PersonScore(int(k[1:]), v, v, v, 1) for k, v in by_person.items()]
    return sorted(out, key=lambda s: -s.score)


def test_accepts_the_best_person_when_it_clears_threshold_and_margin():
    match = decide(scores(p1=0.62, p2=0.30), POLICY)
    assert (match.person_id, match.candidate_id, match.reason) == (1, 1, "accepted")
    assert match.reason is Decision.ACCEPTED  # a code, which the API writes as its value
    assert match.margin == pytest.approx(0.32)


def test_unknown_below_threshold_still_reports_the_nearest_candidate():
    match = decide(scores(p7=0.39, p2=0.10), POLICY)
    assert match.person_id is None and not match.known
    assert (match.candidate_id, match.reason) == (7, "below_threshold")
    assert match.score == pytest.approx(0.39)


def test_unknown_when_the_runner_up_is_too_close():
    match = decide(scores(p1=0.61, p2=0.58), POLICY)
    assert match.person_id is None
    assert (match.candidate_id, match.reason) == (1, "ambiguous")
    assert match.margin == pytest.approx(0.03)
    # the same scores with a smaller required margin are accepted: the margin is what decided
    assert decide(scores(p1=0.61, p2=0.58), MatchPolicy(0.4, 0.02)).person_id == 1


def test_a_single_enrolled_person_needs_only_the_threshold():
    assert decide(scores(p3=0.45), POLICY).person_id == 3


def test_empty_gallery_is_unknown_without_candidate():
    match = decide([], POLICY)
    assert (match.person_id, match.candidate_id, match.reason) == (None, None, "empty_gallery")


def test_pooling_blends_best_image_and_mean_of_top_k():
    sims = np.array([0.9, 0.5, 0.4, 0.1, 0.7])
    people = np.array([1, 1, 1, 1, 2])
    pooled = {s.person_id: s for s in pool_scores(sims, people, top_k=3, max_weight=0.5)}
    assert pooled[1].best == pytest.approx(0.9)
    assert pooled[1].mean_top_k == pytest.approx((0.9 + 0.5 + 0.4) / 3)  # the 0.1 image is outside the top 3
    assert pooled[1].score == pytest.approx(0.5 * 0.9 + 0.5 * 0.6)
    assert pooled[1].images == 4
    assert pooled[2].score == pytest.approx(0.7)  # one image: best and mean agree


def test_decision_is_per_person_not_per_image():
    # Person 1 has one lucky image (0.66) and weak others; person 2 matches well on all three images.
    hits = [Hit(1, 0.66), Hit(1, 0.20), Hit(1, 0.18), Hit(2, 0.63), Hit(2, 0.62), Hit(2, 0.61)]
    ranked = pool_hits(hits, POLICY)
    assert [s.person_id for s in ranked] == [2, 1]
    assert decide(ranked, POLICY).person_id == 2
    # per image (best image only) would have picked person 1
    per_image = pool_hits(hits, MatchPolicy(0.4, 0.0, top_k=1, max_weight=1.0))
    assert per_image[0].person_id == 1


def test_two_faces_never_get_the_same_person():
    # Both faces look most like person 1; face B more so. Face A's next person (2) clears the bar on its own.
    face_a = scores(p1=0.70, p2=0.62, p3=0.10)
    face_b = scores(p1=0.80, p2=0.20, p3=0.15)
    a, b = assign([face_a, face_b], POLICY)
    assert b.person_id == 1
    assert a.person_id == 2
    # ...and when the next person does not clear the threshold, face A is unknown, its candidate reported.
    a, b = assign([scores(p1=0.70, p2=0.30), face_b], POLICY)
    assert (b.person_id, a.person_id, a.reason, a.candidate_id) == (1, None, Decision.TAKEN, 1)


def test_assignment_maximises_the_total_not_the_first_pick():
    # Greedy would give person 1 to face A (0.90) and leave face B without anyone.
    face_a = scores(p1=0.90, p2=0.80)
    face_b = scores(p1=0.85, p2=0.10)
    a, b = assign([face_a, face_b], MatchPolicy(0.4, 0.05))
    assert (a.person_id, b.person_id) == (2, 1)


@pytest.mark.parametrize("seed", range(20))
def test_random_pictures_never_repeat_an_identity(seed):
    rng = np.random.default_rng(seed)
    faces, people = rng.integers(2, 7), rng.integers(1, 6)
    per_face = [
        sorted(
            (PersonScore(p, s, s, s, 1) for p, s in enumerate(rng.uniform(0.0, 0.9, people))),
            key=lambda x: -x.score,
        )
        for _ in range(faces)
    ]
    policy = MatchPolicy(0.3, 0.0)
    matches = assign(per_face, policy)
    accepted = [m.person_id for m in matches if m.known]
    assert len(accepted) == len(set(accepted))
    total = 0.0
    for m, face in zip(matches, per_face, strict=True):
        if m.known:  # every accepted face cleared the threshold for that person
            score = next(s.score for s in face if s.person_id == m.person_id)
            assert score >= policy.threshold
            total += score
    # A greedy pass (each face in turn takes its best free person) never finds a better total.
    taken, greedy = set(), 0.0
    for face in per_face:
        for s in face:
            if s.score >= policy.threshold and s.person_id not in taken:
                taken.add(s.person_id)
                greedy += s.score
                break
    assert total >= greedy - 1e-9


def test_match_faces_over_an_in_memory_gallery():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 64))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def noisy(c, k):
        v = c + 0.35 * rng.normal(size=(k, 64)) / np.sqrt(64)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    vectors = np.concatenate([noisy(c, 3) for c in centres])
    gallery = InMemoryGallery(vectors, [p for p in (10, 20, 30) for _ in range(3)])
    stranger = rng.normal(size=64)
    stranger /= np.linalg.norm(stranger)
    probes = [noisy(centres[1], 1)[0], noisy(centres[2], 1)[0], stranger]
    matches = match_faces(probes, gallery.search, POLICY)
    assert [m.person_id for m in matches] == [20, 30, None]
    assert matches[2].candidate_id in (10, 20, 30)
    # the fast path used by calibration gives the same pooled scores as search + pool_hits
    fast = gallery.pooled(probes[0], POLICY)
    slow = pool_hits(gallery.search(probes[0]), POLICY)
    assert [(s.person_id, round(s.score, 6)) for s in fast] == [(s.person_id, round(s.score, 6)) for s in slow]


def test_exclude_in_gallery_search_leaves_the_probe_out():
    vectors = np.eye(4, dtype=np.float32)
    gallery = InMemoryGallery(vectors, [1, 1, 2, 2])
    hits = gallery.search(vectors[0], exclude=0)
    assert len(hits) == 3 and all(h.similarity < 1 for h in hits)
    pooled = {s.person_id: s for s in gallery.pooled(vectors[0], POLICY, exclude=0)}
    assert pooled[1].images == 1 and pooled[2].images == 2


def best_total(gain: np.ndarray) -> float:
    """The largest total of a one-to-one assignment, by trying every one (small matrices only)."""
    rows, cols = gain.shape
    if rows <= cols:
        return max(sum(gain[r, c] for r, c in enumerate(p)) for p in itertools.permutations(range(cols), rows))
    return best_total(gain.T)


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1), (3, 3), (2, 5), (5, 2), (4, 6), (6, 4)])
@pytest.mark.parametrize("seed", range(5))
def test_max_assignment_finds_the_largest_total(shape, seed):
    gain = np.random.default_rng(seed).uniform(0.0, 1.0, shape)
    gain[gain < 0.3] = 0.0  # pairs below a threshold, as assign() builds them
    pairs = max_assignment(gain)
    assert len(pairs) == min(shape)
    assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
    assert sum(gain[r, c] for r, c in pairs) == pytest.approx(best_total(gain))


def test_max_assignment_prefers_the_total_over_the_largest_pair():
    # The largest entry (0.9) is not in the best assignment: 0.8 + 0.85 beats 0.9 + 0.1.
    assert max_assignment(np.array([[0.9, 0.8], [0.85, 0.1]])) == [(0, 1), (1, 0)]


def test_max_assignment_of_an_empty_matrix():
    assert max_assignment(np.zeros((0, 3))) == [] and max_assignment(np.zeros((2, 0))) == []
