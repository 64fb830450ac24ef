"""The Django side of the face engine: one FaceAnalyzer per process, built from settings on first use.

Everything that needs faces (enrollment tasks, the REST API, live sessions, CLI commands) asks this module
instead of building models itself, so each ONNX session is created once per process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from recognition.engine.model_store import PACKS, ModelStore
from recognition.engine.runtime import RuntimeOptions, SessionFactory


@dataclass(frozen=True)
class PackInfo:
    name: str
    detector: str
    embedder: str
    emotion: str
    licence: str
    commercial_use: bool

    @property
    def licence_line(self) -> str:
        use = "commercial use allowed" if self.commercial_use else "NON-COMMERCIAL use only"
        return f"{self.licence}; {use}"


def active_pack() -> PackInfo:
    """The model pack chosen by FACE_MODEL_PACK, with its licence."""
    name = settings.FACE_MODEL_PACK
    if name not in PACKS:
        raise ImproperlyConfigured(f"FACE_MODEL_PACK={name!r} is not one of {sorted(PACKS)}")
    pack = PACKS[name]
    return PackInfo(
        name=name,
        detector=pack["detector"],
        embedder=pack["embedder"],
        emotion=pack.get("emotion", ""),
        licence=pack["licence"],
        commercial_use=bool(pack["commercial_use"]),
    )


@cache
def model_store() -> ModelStore:
    return ModelStore(settings.MODELS_DIR)


@cache
def session_factory() -> SessionFactory:
    return SessionFactory(
        RuntimeOptions(
            device=settings.INFERENCE_DEVICE,
            intra_op_threads=settings.ORT_INTRA_OP_THREADS,
            allow_spinning=settings.ORT_ALLOW_SPINNING,
        )
    )


_analyzer_lock = threading.Lock()
_analyzers: dict[str, object] = {}


def face_analyzer(pack: str | None = None):
    """The process-wide FaceAnalyzer for a pack (the active one by default), built on first use."""
    from recognition.engine.analyzer import FaceAnalyzer

    name = pack or active_pack().name
    with _analyzer_lock:
        if name not in _analyzers:
            _analyzers[name] = FaceAnalyzer.from_pack(name, model_store(), session_factory())
        return _analyzers[name]
