"""The Django side of the face engine: one FaceAnalyzer per process, built from settings on first use.

Everything that needs faces (enrollment tasks, the REST API, live sessions, CLI commands) asks this module
instead of building models itself, so each ONNX session is created once per process.
"""

from __future__ import annotations

import threading
import time
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from recognition.conf import recognition_settings
from recognition.domain.pack import PackSpec, pack_spec
from recognition.engine.model_store import PACKS, ModelStore
from recognition.engine.runtime import RuntimeOptions, SessionFactory

ACTIVE_PACK_CACHE_S = 10.0
_active_cache: dict[str, object] = {"name": None, "at": 0.0}


def active_pack_name(*, from_database: bool = True) -> str:
    """The pack the gallery searches: the active PackSettings row (switched by a finished re-embedding), else
    FACE_MODEL_PACK. Read at most every few seconds per process."""
    if not from_database:
        return recognition_settings().face_model_pack
    now = time.monotonic()
    if _active_cache["name"] is None or now - _active_cache["at"] > ACTIVE_PACK_CACHE_S:
        from recognition.models import PackSettings

        try:
            name = PackSettings.objects.filter(is_active=True).values_list("pack", flat=True).first()
        except DatabaseError:
            name = None  # before migrations, or the database is down: the configured pack
        _active_cache.update(name=name or recognition_settings().face_model_pack, at=now)
    return _active_cache["name"]


def forget_active_pack() -> None:
    _active_cache.update(name=None, at=0.0)


def active_pack(*, from_database: bool = True) -> PackSpec:
    """The active model pack's specification (models, dims, licence: recognition.domain.pack)."""
    name = active_pack_name(from_database=from_database)
    try:
        return pack_spec(name)
    except ValueError as exc:
        raise ImproperlyConfigured(f"FACE_MODEL_PACK: {exc}") from None


@cache
def model_store() -> ModelStore:
    return ModelStore(recognition_settings().models_dir)


_analyzer_lock = threading.Lock()
_analyzers: dict[tuple[str, bool], object] = {}
_intra_op_threads: int | None = None  # this process's role overrides ORT_INTRA_OP_THREADS (use_intra_op_threads)


@cache
def session_factory() -> SessionFactory:
    conf = recognition_settings()
    threads = conf.ort_intra_op_threads if _intra_op_threads is None else _intra_op_threads
    return SessionFactory(
        RuntimeOptions(
            device=conf.inference_device, intra_op_threads=threads, allow_spinning=conf.ort_allow_spinning
        )
    )


def use_intra_op_threads(threads: int | None) -> None:
    """Run every ONNX call of this process on `threads` threads (0: onnxruntime's default, one per core; None:
    back to ORT_INTRA_OP_THREADS).

    For a process whose own threads each run inference at once (the camera worker: one per camera): there the
    concurrent calls already fill the cores, and sharing each session's intra-op pool between them only adds
    contention (measured in bench/RESULTS.md, cameras). Models built before are dropped and rebuilt on next use."""
    global _intra_op_threads
    with _analyzer_lock:
        if threads == _intra_op_threads:
            return
        _intra_op_threads = threads
        session_factory.cache_clear()
        _analyzers.clear()


def face_analyzer(pack: str | None = None, *, video: bool = False):
    """The process-wide FaceAnalyzer for a pack (the active one by default), built on first use.

    Photos retry detection on a padded copy when nothing was found (a tight face crop defeats the detectors);
    video frames (`video=True`) must not: that would run detection twice on every frame without a face. The
    pack's models are built once and both analyzers wrap the same detector, embedder and emotion classifier."""
    from recognition.engine.analyzer import FaceAnalyzer

    name = pack or active_pack().name
    with _analyzer_lock:
        if (name, video) not in _analyzers:
            photo = FaceAnalyzer.from_pack(
                name, model_store(), session_factory(), tight_crops="auto",
                emotion_options={"uncertain_below": recognition_settings().emotion_uncertain_below},
            )
            _analyzers[(name, False)] = photo
            _analyzers[(name, True)] = FaceAnalyzer(photo.detector, photo.embedder, photo.emotion, tight_crops="small")
        return _analyzers[(name, video)]


def verify_active_models() -> list[str]:
    """Check the sha256 of every model file of the configured pack and of the pack the gallery uses, so
    that a web server or worker with a corrupt or missing model refuses to start instead of failing in the
    middle of a request. Raises ModelMissing or ModelCorrupt (the message names the file and says to run
    `python manage.py fetch_models`). Returns the models checked. ModelStore caches by size and mtime."""
    from django.db import connection

    packs = [recognition_settings().face_model_pack]
    try:
        packs.append(active_pack_name())  # a finished re-embedding may have switched the gallery's pack
        connection.close()  # opened at start-up, before a server forks or starts its threads
    except Exception:  # noqa: BLE001 - no database (yet) or no database access here: the configured pack
        pass
    store = model_store()
    names = list(dict.fromkeys(n for pack in packs if pack in PACKS for n in store.names_for_pack(pack)))
    for name in names:
        store.verify(name)
    return names
