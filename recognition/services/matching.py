"""Who is this face? The decision, made per person and per picture, never per image.

1. Search: the gallery gives back its embeddings near the query (pgvector HNSW in production, see
   `selectors.search_gallery`; an `InMemoryGallery` for calibration and the benchmark). Same decision
   either way.
2. Per person: each person's similarities are pooled into one score, a blend of their best image and the mean
   of their top-k images (`MatchPolicy.max_weight`); one lucky image of a look-alike counts for less than
   several good images of the right person.
3. Decide: the best person is accepted only if the score clears the pack's threshold AND beats the runner-up
   person by the pack's margin; otherwise the answer is "unknown", and the nearest person and score are still
   reported.
4. One identity per picture: over all faces x people, the assignment with the highest total score among the
   pairs that clear the threshold; no person is given to two faces of the same picture.

The pure part (everything above "the database side") imports nothing from Django, so the benchmark and the
calibration run exactly this code on in-memory embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from recognition.domain.pack import DEFAULT_POLICIES, pack_model_name, pack_model_version  # noqa: F401 (callers)
from recognition.engine.types import Face

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


@dataclass(frozen=True)
class Match:
    person_id: int | None  # the accepted person; None means "unknown"
    candidate_id: int | None  # the nearest person, reported even when unknown (None: empty gallery)
    score: float  # the candidate's pooled score (0.0 for an empty gallery)
    margin: float  # candidate's score minus the runner-up's (the whole score when there is no runner-up)
    reason: str  # accepted | below_threshold | ambiguous | taken | empty_gallery

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
def decide(
    scores: Sequence[PersonScore], policy: MatchPolicy, *, exclude: frozenset[int] = frozenset()
) -> Match:
    """The decision for one face from its pooled person scores (best first). People in `exclude` are already
    given to other faces of the same picture and do not compete."""
    ranked = [s for s in scores if s.person_id not in exclude]
    if not scores:
        return Match(None, None, 0.0, 0.0, "empty_gallery")
    nearest = scores[0]
    if not ranked:  # everyone near this face is another face in the picture
        return Match(None, nearest.person_id, nearest.score, nearest.score, "taken")
    best = ranked[0]
    margin = best.score - ranked[1].score if len(ranked) > 1 else best.score
    if best.score < policy.threshold:
        reason = "taken" if nearest.score >= policy.threshold else "below_threshold"
        return Match(None, nearest.person_id, nearest.score, _margin(scores), reason)
    if margin < policy.margin:
        return Match(None, best.person_id, best.score, margin, "ambiguous")
    return Match(best.person_id, best.person_id, best.score, margin, "accepted")


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
    rows, cols = linear_sum_assignment(gain, maximize=True)
    given = {int(i): people[j] for i, j in zip(rows, cols, strict=True) if gain[i, j] > 0}
    matches = []
    for i, scores in enumerate(per_face):
        others = frozenset(p for f, p in given.items() if f != i)
        match = decide(scores, policy, exclude=others)
        if match.known and match.person_id != given.get(i):
            # The assignment preferred another outcome for this face; never accept what it did not give.
            match = Match(None, match.person_id, match.score, match.margin, "taken")
        matches.append(match)
    return matches


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
            Hit(int(p), float(s))
            for k, (p, s) in enumerate(zip(self.person_ids, sims, strict=True))
            if k != exclude
        ]

    def pooled(
        self, vector: np.ndarray, policy: MatchPolicy, *, exclude: int | None = None
    ) -> list[PersonScore]:
        """pool_hits(search(vector)) without building Hit objects (the same numbers, faster)."""
        sims = self.similarities(vector)
        keep = np.ones(sims.size, dtype=bool)
        if exclude is not None:
            keep[exclude] = False
        return pool_scores(
            sims[keep], self.person_ids[keep], top_k=policy.top_k, max_weight=policy.max_weight
        )


# --- the database side --------------------------------------------------------------------------------------
def pack_policy(pack: str) -> MatchPolicy:
    """The pack's threshold and margin from PackSettings (the shipped defaults when it has no row)."""
    from recognition.models import PackSettings

    row = PackSettings.objects.filter(pack=pack).values("threshold", "margin").first()
    values = row or DEFAULT_POLICIES.get(pack)
    if values is None:
        raise KeyError(f"no match settings for model pack {pack!r}")
    return MatchPolicy(threshold=float(values["threshold"]), margin=float(values["margin"]))


def identify(vectors: Sequence[np.ndarray], *, model_name: str, policy: MatchPolicy) -> list[Match]:
    """Decisions for the faces of one picture against the enrolled gallery of one embedding model."""
    from recognition.selectors import search_gallery

    return match_faces(vectors, lambda v: search_gallery(v, model_name=model_name), policy)


@dataclass
class RecognizedFace:
    face: Face  # the engine's Face: box, detection score, quality, embedding, emotion
    match: Match


@dataclass
class Recognition:
    pack: str
    model_name: str
    policy: MatchPolicy
    faces: list[RecognizedFace]


def _pack_and_analyzer(pack: str | None):
    from recognition import inference

    name = pack or inference.active_pack().name
    return name, inference.face_analyzer(name)


def recognize(
    image_bgr: np.ndarray, *, pack: str | None = None, emotion: bool = True, max_faces: int = 0
) -> Recognition:
    """Every face of one picture: detected, embedded, matched (one identity per picture), with emotion.

    The gallery searched is the embedding model of the analyzer that embedded the query, so the two can never
    be of different models."""
    name, analyzer = _pack_and_analyzer(pack)
    faces = [
        f
        for f in analyzer.analyze(image_bgr, emotion=emotion, max_faces=max_faces)
        if f.embedding is not None
    ]
    model_name = analyzer.embedder.name
    policy = pack_policy(name)
    matches = identify([f.embedding for f in faces], model_name=model_name, policy=policy) if faces else []
    return Recognition(
        name, model_name, policy, [RecognizedFace(f, m) for f, m in zip(faces, matches, strict=True)]
    )


class NoFaceFound(ValueError):
    """An image given for verification shows no face."""


@dataclass
class Verification:
    same: bool
    score: float
    threshold: float
    pack: str
    faces: list[Face]  # the face used from each image (the largest)


def _largest_face(analyzer, image_bgr: np.ndarray, label: str) -> Face:
    faces = [f for f in analyzer.analyze(image_bgr, emotion=False) if f.embedding is not None]
    if not faces:
        raise NoFaceFound(f"no face found in {label}")
    return max(faces, key=lambda f: f.detection.area)


def verify_images(image_a: np.ndarray, image_b: np.ndarray, *, pack: str | None = None) -> Verification:
    """Are the largest faces of two pictures the same person? Cosine similarity against the pack threshold."""
    name, analyzer = _pack_and_analyzer(pack)
    a = _largest_face(analyzer, image_a, "image_a")
    b = _largest_face(analyzer, image_b, "image_b")
    score = float(np.dot(a.embedding, b.embedding))
    threshold = pack_policy(name).threshold
    return Verification(score >= threshold, score, threshold, name, [a, b])


def verify_person(image_bgr: np.ndarray, person_id: int, *, pack: str | None = None) -> Verification:
    """Is the largest face of a picture this person? Their pooled score (as in identification) against the
    threshold; raises LookupError when the person has no searchable image of the pack's model."""
    from recognition.selectors import person_hits

    name, analyzer = _pack_and_analyzer(pack)
    face = _largest_face(analyzer, image_bgr, "image")
    policy = pack_policy(name)
    scores = pool_hits(
        person_hits(face.embedding, person_id=person_id, model_name=analyzer.embedder.name), policy
    )
    if not scores:
        raise LookupError("this person has no enrolled image for the active model pack")
    return Verification(scores[0].score >= policy.threshold, scores[0].score, policy.threshold, name, [face])
