"""The recognition app's settings in one place. facesite/settings reads the environment and holds every default;
this module gathers what recognition uses into one typed value, read on every call so tests can override
them with pytest-django's `settings` fixture. Recognition reads its settings only through it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class RecognitionSettings:
    face_model_pack: str
    inference_device: str
    ort_intra_op_threads: int
    ort_allow_spinning: bool
    models_dir: Path
    emotion_uncertain_below: float
    enroll_min_face_px: int
    enroll_min_sharpness: float
    enroll_max_yaw: float
    enroll_multiple_faces: str
    enroll_chunk_size: int
    enroll_max_files: int
    enroll_max_file_bytes: int
    enroll_max_total_bytes: int
    enroll_resume_interval_s: int
    enroll_claim_lease_s: float
    recycle_bin_retention_days: int
    erasure_ledger: Path
    api_max_image_bytes: int
    api_max_image_pixels: int
    gallery_ef_search: int
    calibration_sample: int
    live_detect_every: int
    live_recognize_every: int
    live_defer_recognition: bool
    live_max_message_bytes: int
    live_max_frame_pixels: int
    live_max_fps: int
    live_inference_channels: tuple[str, ...]
    live_worker_timeout_s: float
    live_member_attendance: bool
    unknown_face_min_s: float
    unknown_face_alert_s: float
    liveness_steps: int
    liveness_timeout_s: float


def recognition_settings() -> RecognitionSettings:
    """Every field is the project setting of the same name in capitals (read on every call)."""
    return RecognitionSettings(**{name: _read(setting) for name, setting in _NAMES})


_NAMES = [(field.name, field.name.upper()) for field in fields(RecognitionSettings)]


def _read(name: str):
    value = getattr(settings, name)
    if isinstance(value, list):  # env lists: kept immutable in the frozen value
        return tuple(value)
    return Path(value) if name.endswith(("_DIR", "_LEDGER")) else value
