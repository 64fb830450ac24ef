"""Calibration maths: genuine and impostor score distributions from enrolled embeddings (numpy + stdlib).

Leave-one-out over the gallery: every enrolled embedding in turn is taken out and matched against the
rest with the product's own per-person pooling (the match policy's pool_scores, given as `pool`). Its own
person's pooled score is a genuine score (when that person has another enrolled image); every other person's
pooled score is an impostor score, i.e. "would this face be accepted as that person". From the two
distributions: EER, TAR at FAR 1e-2/1e-3/1e-4, and the threshold proposed for a target false-accept rate.

With n impostor scores no FAR below 1/n can be measured: at such targets the proposal is extrapolated from the
impostor scores' Gaussian tail (never below the highest impostor seen), `Calibration.resolved` is False, and
TAR at that FAR is reported as None rather than guessed.

A large gallery is calibrated on a bounded sample (`sample_per_person`): the same number of images from every
person where possible, chosen with a fixed seed, so the same gallery always gives the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Protocol

import numpy as np


class PooledScore(Protocol):
    person_id: int
    score: float


# One pooled score per person from a probe's similarities to the rest of the gallery and their person ids: the
# product's own per-person pooling (the match policy's pool_scores), given by the caller.
Pool = Callable[[np.ndarray, np.ndarray], Iterable[PooledScore]]

FAR_TARGETS = (1e-2, 1e-3, 1e-4)
# Per comparison (one face against one person). With P people enrolled a stranger is accepted as someone
# with probability about P x FAR: 1e-5 keeps strangers under 1% up to ~1000 people (the shipped target).
DEFAULT_TARGET_FAR = 1e-5
MAX_PROBES = 3000  # leave-one-out probes sampled from larger galleries (the gallery itself is used whole)


@dataclass
class Calibration:
    pack: str
    model_name: str
    genuine: np.ndarray = field(repr=False)
    impostor: np.ndarray = field(repr=False)
    people: int
    images: int
    probes: int
    eer: float
    threshold_at_eer: float
    tar_at_far: dict[str, float | None]  # "1e-02" -> TAR, None when the FAR cannot be measured with this data
    target_far: float
    proposed_threshold: float
    far_at_proposed: float
    tar_at_proposed: float
    resolved: bool  # measured (enough impostor scores for the target FAR) or extrapolated
    current_threshold: float | None = None

    @property
    def stranger_accept_rate(self) -> float:
        """About how often a stranger would be accepted as someone at the proposed threshold, given the
        number of people enrolled (1 - (1 - FAR)^people, with the target FAR)."""
        return 1.0 - (1.0 - self.target_far) ** max(self.people, 1)

    def summary(self) -> dict:
        out = asdict(self)
        out.pop("genuine")
        out.pop("impostor")
        out["genuine_scores"] = int(self.genuine.size)
        out["impostor_scores"] = int(self.impostor.size)
        return out


def leave_one_out_scores(
    vectors: np.ndarray,
    person_ids: np.ndarray,
    pool: Pool,
    *,
    max_probes: int = MAX_PROBES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(genuine, impostor, probes): pooled per-person scores of each held-out embedding against the rest."""
    vectors = np.asarray(vectors, dtype=np.float32)
    person_ids = np.asarray(person_ids, dtype=np.int64)
    n = len(person_ids)
    probes = np.arange(n)
    if n > max_probes:
        probes = np.sort(np.random.default_rng(seed).choice(n, size=max_probes, replace=False))
    genuine: list[float] = []
    impostor: list[float] = []
    keep = np.ones(n, dtype=bool)
    for i in probes:
        keep[i] = False
        sims = vectors[keep] @ vectors[i]
        for score in pool(sims, person_ids[keep]):
            (genuine if score.person_id == person_ids[i] else impostor).append(score.score)
        keep[i] = True
    return np.asarray(genuine), np.asarray(impostor), len(probes)


def far_frr(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """False-accept rate (impostor >= threshold) and false-reject rate (genuine < threshold)."""
    far = float((impostor >= threshold).mean()) if impostor.size else 0.0
    frr = float((genuine < threshold).mean()) if genuine.size else 0.0
    return far, frr


def threshold_for_far(impostor: np.ndarray, target_far: float) -> tuple[float, bool]:
    """The lowest threshold whose false-accept rate is at most `target_far`, and whether it was measured.

    Measured when the data holds at least 1/target impostor scores: just above the impostor score that would
    be one accept too many. Otherwise extrapolated: the Gaussian tail of the impostor scores at the target
    (mean + z * std), but never below the highest impostor score seen (real tails are heavier than Gaussian).
    """
    if impostor.size == 0:
        return math.inf, False
    ranked = np.sort(impostor)[::-1]
    if impostor.size * target_far >= 1:
        allowed = math.floor(target_far * impostor.size)  # impostor scores that may be accepted
        if allowed >= ranked.size:
            return float(ranked[-1]), True
        return float(np.nextafter(ranked[allowed], np.inf)), True
    tail = float(impostor.mean() + NormalDist().inv_cdf(1.0 - target_far) * impostor.std())
    return max(tail, float(np.nextafter(ranked[0], np.inf))), False


def equal_error(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(EER, its threshold): where FAR and FRR cross, over every observed score as a threshold."""
    if genuine.size == 0 or impostor.size == 0:
        return math.nan, math.nan
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.nextafter(impostor.max(), np.inf)]]))
    far = np.array([(impostor >= t).mean() for t in thresholds])
    frr = np.array([(genuine < t).mean() for t in thresholds])
    k = int(np.argmin(np.abs(far - frr) + 1e-9 * thresholds))  # ties: the lowest crossing threshold
    eer = (far[k] + frr[k]) / 2
    # A perfectly separated set: report the middle of the gap, not its edge.
    if far[k] == 0 and frr[k] == 0:
        low, high = impostor.max(), genuine.min()
        return 0.0, float((low + high) / 2)
    return float(eer), float(thresholds[k])


def summarise(
    genuine: np.ndarray,
    impostor: np.ndarray,
    *,
    target_far: float = DEFAULT_TARGET_FAR,
    pack: str = "",
    model_name: str = "",
    people: int = 0,
    images: int = 0,
    probes: int = 0,
    current_threshold: float | None = None,
) -> Calibration:
    eer, thr_eer = equal_error(genuine, impostor)
    tar: dict[str, float | None] = {}
    for far in FAR_TARGETS:
        threshold, resolved = threshold_for_far(impostor, far)
        tar[f"{far:.0e}"] = float((genuine >= threshold).mean()) if resolved and genuine.size else None
    proposed, resolved = threshold_for_far(impostor, target_far)
    far_p, frr_p = far_frr(genuine, impostor, proposed)
    return Calibration(
        pack=pack,
        model_name=model_name,
        genuine=genuine,
        impostor=impostor,
        people=people,
        images=images,
        probes=probes,
        eer=eer,
        threshold_at_eer=thr_eer,
        tar_at_far=tar,
        target_far=target_far,
        proposed_threshold=proposed,
        far_at_proposed=far_p,
        tar_at_proposed=1.0 - frr_p,
        resolved=resolved,
        current_threshold=current_threshold,
    )


def calibrate_arrays(
    vectors: np.ndarray,
    person_ids: np.ndarray,
    pool: Pool,
    *,
    current_threshold: float | None = None,
    target_far: float = DEFAULT_TARGET_FAR,
    max_probes: int = MAX_PROBES,
    **labels,
) -> Calibration:
    genuine, impostor, probes = leave_one_out_scores(vectors, person_ids, pool, max_probes=max_probes)
    return summarise(
        genuine,
        impostor,
        target_far=target_far,
        people=len(set(np.asarray(person_ids).tolist())),
        images=len(person_ids),
        probes=probes,
        current_threshold=current_threshold,
        **labels,
    )


def sample_per_person(person_ids: np.ndarray, limit: int, *, seed: int = 0) -> np.ndarray:
    """Indices (sorted) of at most `limit` embeddings: every person capped at the same number of images (at
    least two, so genuine scores remain), the largest cap that fits; with too many people for two each, a
    seeded subset of the people. Deterministic for a given gallery, limit and seed."""
    ids = np.asarray(person_ids, dtype=np.int64)
    n = ids.size
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    _, group, counts = np.unique(ids, return_inverse=True, return_counts=True)
    low, high = 2, int(counts.max())
    while low < high:  # the largest cap c >= 2 with sum(min(counts, c)) <= limit
        middle = (low + high + 1) // 2
        if np.minimum(counts, middle).sum() <= limit:
            low = middle
        else:
            high = middle - 1
    cap = low
    shuffled = np.empty(n, dtype=np.int64)
    shuffled[rng.permutation(n)] = np.arange(n)  # a random rank for every embedding
    order = np.lexsort((shuffled, group))  # grouped by person, randomly ordered within a person
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    rank = np.arange(n) - starts
    kept = order[rank < cap]
    if kept.size > limit:  # more people than fit at two images each: whole people, in a seeded order
        taken = np.minimum(counts, cap)
        people = rng.permutation(counts.size)
        chosen = people[np.cumsum(taken[people]) <= limit]
        kept = kept[np.isin(group[kept], chosen)]
    return np.sort(kept)
