"""Who is this face, against the enrolled gallery: the decision of recognition.domain.matching on the hits
of `selectors.search_gallery`, with the pack's policy from PackSettings. The maths lives in the domain (numpy
only, shared with calibration and the benchmarks); this module fetches and hands over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recognition import inference
from recognition.domain.matching import Match, MatchPolicy, match_faces, pool_hits
from recognition.domain.pack import DEFAULT_POLICIES
from recognition.engine.types import Face
from recognition.models import PackSettings
from recognition.selectors import person_hits, search_gallery


# --- the database side --------------------------------------------------------------------------------------
def pack_policy(pack: str) -> MatchPolicy:
    """The pack's threshold and margin from PackSettings (the shipped defaults when it has no row)."""
    row = PackSettings.objects.filter(pack=pack).values("threshold", "margin").first()
    values = row or DEFAULT_POLICIES.get(pack)
    if values is None:
        raise KeyError(f"no match settings for model pack {pack!r}")
    return MatchPolicy(threshold=float(values["threshold"]), margin=float(values["margin"]))


def identify(vectors: Sequence[np.ndarray], *, model_name: str, policy: MatchPolicy) -> list[Match]:
    """Decisions for the faces of one picture against the enrolled gallery of one embedding model."""
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
    name = pack or inference.active_pack().name
    return name, inference.face_analyzer(name)


def recognize(
    image_bgr: np.ndarray, *, pack: str | None = None, emotion: bool = True, max_faces: int = 0
) -> Recognition:
    """Every face of one picture: detected, embedded, matched (one identity per picture), with emotion.

    The gallery searched is the embedding model of the analyzer that embedded the query, so the two can never
    be of different models."""
    name, analyzer = _pack_and_analyzer(pack)
    faces = [f for f in analyzer.analyze(image_bgr, emotion=emotion, max_faces=max_faces) if f.embedding is not None]
    model_name = analyzer.embedder.name
    policy = pack_policy(name)
    matches = identify([f.embedding for f in faces], model_name=model_name, policy=policy) if faces else []
    return Recognition(name, model_name, policy, [RecognizedFace(f, m) for f, m in zip(faces, matches, strict=True)])


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
    name, analyzer = _pack_and_analyzer(pack)
    face = _largest_face(analyzer, image_bgr, "image")
    policy = pack_policy(name)
    scores = pool_hits(person_hits(face.embedding, person_id=person_id, model_name=analyzer.embedder.name), policy)
    if not scores:
        raise LookupError("this person has no enrolled image for the active model pack")
    return Verification(scores[0].score >= policy.threshold, scores[0].score, policy.threshold, name, [face])

