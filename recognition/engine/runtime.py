"""onnxruntime sessions: one per model file per process, CUDA first where it really loads."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

logger = logging.getLogger("recognition.engine")

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

# Shared by every factory in the process, so two factories with the same options never load a model twice.
_SESSIONS: dict[tuple[str, RuntimeOptions], ort.InferenceSession] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class RuntimeOptions:
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    intra_op_threads: int = 0  # 0 = onnxruntime's default
    allow_spinning: bool = False

    def __post_init__(self) -> None:
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {self.device!r}")


class SessionFactory:
    """Callable that returns the process-wide cached InferenceSession for a model path."""

    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()

    def __call__(self, model_path: Path | str) -> ort.InferenceSession:
        key = (str(Path(model_path).resolve()), self.options)
        with _LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                session = self._create(Path(key[0]))
                _SESSIONS[key] = session
            return session

    def provider(self, model_path: Path | str) -> str:
        """The execution provider that runs ``model_path`` (first of the session's providers)."""
        return self(model_path).get_providers()[0]

    def _session_options(self) -> ort.SessionOptions:
        so = ort.SessionOptions()
        if self.options.intra_op_threads > 0:
            so.intra_op_num_threads = self.options.intra_op_threads
        spin = "1" if self.options.allow_spinning else "0"
        so.add_session_config_entry("session.intra_op.allow_spinning", spin)
        so.add_session_config_entry("session.inter_op.allow_spinning", spin)
        so.log_severity_level = 3  # onnxruntime's own warnings (e.g. CUDA probing) are noise here
        return so

    def _create(self, path: Path) -> ort.InferenceSession:
        if not path.is_file():
            raise FileNotFoundError(f"model file not found: {path}")
        want_cuda = self.options.device in ("auto", "cuda")
        if want_cuda and CUDA in ort.get_available_providers():
            try:
                session = ort.InferenceSession(str(path), self._session_options(), providers=[CUDA, CPU])
            except Exception as exc:  # a broken CUDA install raises here on some builds
                logger.warning("CUDA provider failed to load for %s (%s); using CPU", path.name, exc)
            else:
                # onnxruntime-gpu lists CUDA as available even when its libraries cannot load; then the
                # session silently runs on CPU, so ask the session what it really got.
                if session.get_providers()[0] == CUDA:
                    logger.info("onnxruntime session %s: provider %s", path.name, CUDA)
                    return session
                logger.warning("CUDA provider listed but did not load for %s; using CPU", path.name)
        elif self.options.device == "cuda":
            logger.warning("device='cuda' requested but onnxruntime has no CUDA provider; using CPU")
        session = ort.InferenceSession(str(path), self._session_options(), providers=[CPU])
        logger.info("onnxruntime session %s: provider %s", path.name, session.get_providers()[0])
        return session
