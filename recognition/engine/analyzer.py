"""FaceAnalyzer: detect -> align -> quality -> embed (+ emotion) for one image."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from recognition.engine.align import align_face
from recognition.engine.detectors import Detector, detector_class
from recognition.engine.detectors.base import as_bgr, pad_image, shift_detections
from recognition.engine.embedders import embedder_class
from recognition.engine.emotion import EmotionClassifier
from recognition.engine.quality import assess
from recognition.engine.types import Detection, Emotion, Face

if TYPE_CHECKING:
    from recognition.engine.runtime import SessionFactory

logger = logging.getLogger("recognition.engine")

TIGHT_CROP_MODES = ("auto", "small", "always", "never")


class EmotionModel(Protocol):
    uncertain_below: float  # a face whose top probability is lower is labelled "uncertain"

    def classify(self, image_bgr: np.ndarray, detections: list[Detection]) -> list[Emotion]: ...


class Embedder(Protocol):
    dim: int
    name: str
    version: str

    def embed(self, aligned: Sequence[np.ndarray] | np.ndarray) -> np.ndarray: ...


class FaceAnalyzer:
    """Chains a detector, an embedder and an optional emotion classifier.

    Tight face crops (a face filling the whole image, e.g. 150x150 aligned chips) defeat SCRFD and YuNet
    when resized up to the network input; a black border of ``pad_ratio`` on each side fixes that. With
    ``tight_crops``:
      "auto"   pad up front when the image's long side <= ``small_side``; otherwise detect as is and retry
               padded only when nothing was found (costs a second detection on images without faces);
      "small"  only the up-front padding of small images (no retry: for video frames);
      "always" always pad;  "never" never pad.
    """

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder | None,
        emotion: EmotionModel | None = None,
        *,
        tight_crops: str = "auto",
        small_side: int = 320,
        pad_ratio: float = 0.5,
    ) -> None:
        if tight_crops not in TIGHT_CROP_MODES:
            raise ValueError(f"tight_crops must be one of {TIGHT_CROP_MODES}, not {tight_crops!r}")
        self.detector = detector
        self.embedder = embedder
        self.emotion = emotion
        self.tight_crops = tight_crops
        self.small_side = int(small_side)
        self.pad_ratio = float(pad_ratio)

    @classmethod
    def from_pack(
        cls,
        pack: str,
        store: Any,
        factory: SessionFactory,
        *,
        detector_options: dict[str, Any] | None = None,
        embedder_options: dict[str, Any] | None = None,
        emotion_options: dict[str, Any] | None = None,
        with_emotion: bool = True,
        packs: dict[str, dict[str, Any]] | None = None,
        **opts: Any,
    ) -> FaceAnalyzer:
        """Build the analyzer a model pack names (``store`` is a model_store.ModelStore).

        The emotion model is optional: it is loaded when the pack names one and its file is present.
        ``opts`` go to the FaceAnalyzer constructor (tight_crops, small_side, pad_ratio).
        """
        if packs is None:
            packs = getattr(store, "packs", None)
        if not packs:
            from recognition.engine.model_store import PACKS

            packs = PACKS
        if pack not in packs:
            raise KeyError(f"unknown model pack {pack!r}; known: {sorted(packs)}")
        spec = packs[pack]
        det_name, emb_name = spec["detector"], spec["embedder"]
        detector = detector_class(det_name)(store.path(det_name), factory, **(detector_options or {}))
        embedder_options = {"version": _embedder_version(store, emb_name), **(embedder_options or {})}
        embedder = embedder_class(emb_name)(store.path(emb_name), factory, name=emb_name, **embedder_options)
        emotion = None
        emo_name = spec.get("emotion")
        if with_emotion and emo_name:
            try:
                emo_path = store.path(emo_name)
            except Exception as exc:  # ModelMissing: emotion is optional, recognition still works
                logger.warning(
                    "pack %s: emotion model %s not available (%s); emotion disabled", pack, emo_name, exc
                )
            else:
                emotion = EmotionClassifier(emo_path, factory, **(emotion_options or {}))
        return cls(detector, embedder, emotion, **opts)

    def detect(self, image_bgr: np.ndarray, *, max_faces: int = 0, min_size: float = 0) -> list[Detection]:
        """Detections in original coordinates, with the tight-crop padding policy applied."""
        image = as_bgr(image_bgr)
        small = max(image.shape[:2]) <= self.small_side
        if self.tight_crops == "always" or (self.tight_crops in ("auto", "small") and small):
            return self._detect_padded(image, max_faces, min_size)
        dets = self.detector.detect(image, max_faces=max_faces, min_size=min_size)
        if not dets and self.tight_crops == "auto":
            dets = self._detect_padded(image, max_faces, min_size)
        return dets

    def _detect_padded(self, image: np.ndarray, max_faces: int, min_size: float) -> list[Detection]:
        padded, dx, dy = pad_image(image, self.pad_ratio)
        dets = self.detector.detect(padded, max_faces=max_faces, min_size=min_size)
        return shift_detections(dets, dx, dy, image.shape)

    def analyze(
        self,
        image_bgr: np.ndarray,
        *,
        embed: bool = True,
        emotion: bool = True,
        max_faces: int = 0,
        min_size: float = 0,
    ) -> list[Face]:
        """Every face in the image (the ``max_faces`` largest when > 0) with quality, embedding, emotion."""
        image = as_bgr(image_bgr)
        dets = self.detect(image, max_faces=max_faces, min_size=min_size)
        if not dets:
            return []
        aligned = [align_face(image, d.kps) for d in dets]
        faces = [
            Face(detection=d, quality=assess(d, a), aligned=a)
            for d, a in zip(dets, aligned, strict=True)
        ]
        if embed and self.embedder is not None:
            for face, vec in zip(faces, self.embedder.embed(np.stack(aligned)), strict=True):
                face.embedding = vec
        if emotion and self.emotion is not None:
            for face, emo in zip(faces, self.emotion.classify(image, dets), strict=True):
                face.emotion = emo
        return faces


def _embedder_version(store: Any, name: str) -> str | None:
    """``name:<first 12 hex of the sha256>`` from the store's manifest, so the model file is not hashed again
    (ModelStore.verify checks the file against that sha256); None for a store without a manifest (the embedder
    then hashes the file itself, giving the same string for the same file)."""
    spec = getattr(store, "spec", None)
    if spec is None:
        return None
    return f"{name}:{spec(name).sha256[:12]}"


__all__ = ["Embedder", "EmotionModel", "FaceAnalyzer", "TIGHT_CROP_MODES"]
