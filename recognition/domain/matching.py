"""Who is this face? The decision, made per person and per picture, never per image.

1. Search: the gallery gives back its embeddings near the query (pgvector HNSW in production, see
   `recognition.selectors.search_gallery`; an `InMemoryGallery` for calibration and the benchmark). Same
   decision either way.
2. Per person: each person's similarities are pooled into one score, a blend of their best image and the mean
   of their top-k images (`MatchPolicy.max_weight`); one lucky image of a look-alike counts for less than
   several good images of the right person.
3. Decide: the best person is accepted only if the score clears the pack's threshold AND beats the runner-up
   person by the pack's margin; otherwise the answer is "unknown", and the nearest person and score are still
   reported.
4. One identity per picture: over all faces x people, the assignment with the highest total score among the
   pairs that clear the threshold; no person is given to two faces of the same picture.

numpy and the standard library only: the REST API, live recognition, calibration and the benchmarks run this
same code, on pgvector's hits or on embeddings in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

TOP_K = 3
MAX_WEIGHT = 0.5


@dataclass(frozen=True)
class MatchPolicy:
    threshold: float  # minimum pooled cosine similarity of the accepted person
    margin: float  # how far the accepted person must beat the runner-up person
    top_k: int = TOP_K
    max_weight: float = MAX_WEIGHT  # pooled score = w * best + (1 - w) * mean of the top-k


@dataclass(frozen=True)
class Hit:
    """One gallery embedding near the query."""

    person_id: int
    similarity: float  # cosine similarity, 1 - cosine distance


@dataclass(frozen=True)
class PersonScore:
    person_id: int
    score: float  # pooled (see MatchPolicy)
    best: float
    mean_top_k: float
    images: int  # how many of the person's embeddings were pooled


class Decision(StrEnum):
    """Why a face was or was not given a person (Match.reason); the API reports it as `decision`."""

    ACCEPTED = "accepted"
    BELOW_THRESHOLD = "below_threshold"  # the nearest person's pooled score is under the threshold
    AMBIGUOUS = "ambiguous"  # the runner-up person is within the margin
    TAKEN = "taken"  # the person who would match is given to another face of the same picture
    EMPTY_GALLERY = "empty_gallery"


@dataclass(frozen=True)
class Match:
    person_id: int | None  # the accepted person; None means "unknown"
    candidate_id: int | None  # the nearest person, reported even when unknown (None: empty gallery)
    score: float  # the candidate's pooled score (0.0 for an empty gallery)
    margin: float  # candidate's score minus the runner-up's (the whole score when there is no runner-up)
    reason: Decision

    @property
    def known(self) -> bool:
        return self.person_id is not None


# --- 2. per person ------------------------------------------------------------------------------------------
def pool_scores(
    similarities: np.ndarray, person_ids: np.ndarray, *, top_k: int = TOP_K, max_weight: float = MAX_WEIGHT
) -> list[PersonScore]:
    """One pooled score per person from the similarities of their embeddings, best person first."""
    sims = np.asarray(similarities, dtype=np.float64).ravel()
    people = np.asarray(person_ids).ravel()
    if sims.size == 0:
        return []
    order = np.lexsort((-sims, people))  # by person, best similarity first within a person
    sims, people = sims[order], people[order]
    starts = np.flatnonzero(np.r_[True, people[1:] != people[:-1]])
    counts = np.diff(np.r_[starts, sims.size])
    rank = np.arange(sims.size) - np.repeat(starts, counts)  # 0 = the person's best image
    in_top = rank < max(1, top_k)
    top_sum = np.add.reduceat(np.where(in_top, sims, 0.0), starts)
    mean_top = top_sum / np.minimum(counts, max(1, top_k))
    best = sims[starts]
    pooled = max_weight * best + (1.0 - max_weight) * mean_top
    out = [
        PersonScore(int(p), float(s), float(b), float(m), int(n))
        for p, s, b, m, n in zip(people[starts], pooled, best, mean_top, counts, strict=True)
    ]
    out.sort(key=lambda ps: (-ps.score, ps.person_id))
    return out


def pool_hits(hits: Sequence[Hit], policy: MatchPolicy) -> list[PersonScore]:
    return pool_scores(
        np.array([h.similarity for h in hits]),
        np.array([h.person_id for h in hits], dtype=np.int64),
        top_k=policy.top_k,
        max_weight=policy.max_weight,
    )


# --- 3. decide ----------------------------------------------------------------------------------------------
def decide(scores: Sequence[PersonScore], policy: MatchPolicy, *, exclude: frozenset[int] = frozenset()) -> Match:
    """The decision for one face from its pooled person scores (best first). People in `exclude` are already
    given to other faces of the same picture and do not compete."""
    ranked = [s for s in scores if s.person_id not in exclude]
    if not scores:
        return Match(None, None, 0.0, 0.0, Decision.EMPTY_GALLERY)
    nearest = scores[0]
    if not ranked:  # everyone near this face is another face in the picture
        return Match(None, nearest.person_id, nearest.score, nearest.score, Decision.TAKEN)
    best = ranked[0]
    margin = best.score - ranked[1].score if len(ranked) > 1 else best.score
    if best.score < policy.threshold:
        reason = Decision.TAKEN if nearest.score >= policy.threshold else Decision.BELOW_THRESHOLD
        return Match(None, nearest.person_id, nearest.score, _margin(scores), reason)
    if margin < policy.margin:
        return Match(None, best.person_id, best.score, margin, Decision.AMBIGUOUS)
    return Match(best.person_id, best.person_id, best.score, margin, Decision.ACCEPTED)


def _margin(scores: Sequence[PersonScore]) -> float:
    return scores[0].score - scores[1].score if len(scores) > 1 else scores[0].score


# --- 4. one identity per picture ----------------------------------------------------------------------------
def assign(per_face: Sequence[Sequence[PersonScore]], policy: MatchPolicy) -> list[Match]:
    """Decisions for every face of one picture; a person is given to at most one face.

    The faces x people assignment with the highest total pooled score among pairs that clear the threshold
    decides who may be whom; each face is then decided (threshold and margin) with the people given to the
    other faces out of the running. A face that loses its nearest person to a better-matching face gets its
    next person only if that one clears the threshold and the margin on its own.
    """
    if len(per_face) <= 1:
        return [decide(scores, policy) for scores in per_face]
    people = sorted({s.person_id for scores in per_face for s in scores if s.score >= policy.threshold})
    if not people:
        return [decide(scores, policy) for scores in per_face]
    column = {p: j for j, p in enumerate(people)}
    gain = np.zeros((len(per_face), len(people)))
    for i, scores in enumerate(per_face):
        for s in scores:
            if s.score >= policy.threshold:
                gain[i, column[s.person_id]] = s.score
    given = {i: people[j] for i, j in max_assignment(gain) if gain[i, j] > 0}
    matches = []
    for i, scores in enumerate(per_face):
        others = frozenset(p for f, p in given.items() if f != i)
        match = decide(scores, policy, exclude=others)
        if match.known and match.person_id != given.get(i):
            # The assignment preferred another outcome for this face; never accept what it did not give.
            match = Match(None, match.person_id, match.score, match.margin, Decision.TAKEN)
        matches.append(match)
    return matches


def max_assignment(gain: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs of a rectangular matrix, at most one per row and per column, as many as the smaller
    side, with the largest total: the Hungarian method (shortest augmenting paths with potentials, O(n^2 m)).
    Pictures hold a handful of faces and candidates, so this stays small; numpy only, as the domain is."""
    gain = np.asarray(gain, dtype=np.float64)
    flipped = gain.shape[0] > gain.shape[1]
    cost = -(gain.T if flipped else gain)  # rows <= columns; minimising the negated gain
    n, m = cost.shape
    if n == 0:
        return []
    u, v = np.zeros(n + 1), np.zeros(m + 1)  # potentials of rows and columns (1-based; 0 is the virtual column)
    row_of = np.zeros(m + 1, dtype=np.int64)  # the row matched to each column (0: none)
    for i in range(1, n + 1):
        row_of[0], j0 = i, 0
        slack = np.full(m + 1, np.inf)
        way = np.zeros(m + 1, dtype=np.int64)
        used = np.zeros(m + 1, dtype=bool)
        while row_of[j0] != 0:
            used[j0] = True
            i0 = row_of[j0]
            free = ~used
            free[0] = False
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free[1:] & (reduced < slack[1:])
            slack[1:][better] = reduced[better]
            way[1:][better] = j0
            j1 = int(np.argmin(np.where(free, slack, np.inf)))
            delta = slack[j1]
            u[row_of[used]] += delta
            v[used] -= delta
            slack[free] -= delta
            j0 = j1
        while j0:  # flip the augmenting path
            j1 = way[j0]
            row_of[j0] = row_of[j1]
            j0 = j1
    pairs = [(int(row_of[j]) - 1, j - 1) for j in range(1, m + 1) if row_of[j]]
    return sorted((c, r) for r, c in pairs) if flipped else sorted(pairs)


SearchFn = Callable[[np.ndarray], Sequence[Hit]]


def match_faces(vectors: Sequence[np.ndarray], search: SearchFn, policy: MatchPolicy) -> list[Match]:
    """Search, pool per person, decide and assign for all faces of one picture."""
    return assign([pool_hits(search(v), policy) for v in vectors], policy)


class InMemoryGallery:
    """Exact search over embeddings held in memory (calibration, benchmark, tests)."""

    def __init__(self, vectors: np.ndarray, person_ids: Sequence[int]) -> None:
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(person_ids), -1)
        self.person_ids = np.asarray(person_ids, dtype=np.int64)

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        return self.vectors @ np.asarray(vector, dtype=np.float32)

    def search(self, vector: np.ndarray, *, exclude: int | None = None) -> list[Hit]:
        sims = self.similarities(vector)
        return [
            Hit(int(p), float(s)) for k, (p, s) in enumerate(zip(self.person_ids, sims, strict=True)) if k != exclude
        ]

    def pooled(self, vector: np.ndarray, policy: MatchPolicy, *, exclude: int | None = None) -> list[PersonScore]:
        """pool_hits(search(vector)) without building Hit objects (the same numbers, faster)."""
        sims = self.similarities(vector)
        keep = np.ones(sims.size, dtype=bool)
        if exclude is not None:
            keep[exclude] = False
        return pool_scores(sims[keep], self.person_ids[keep], top_k=policy.top_k, max_weight=policy.max_weight)
