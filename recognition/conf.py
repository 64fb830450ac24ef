"""The recognition app's settings in one place. facesite/settings reads the environment and holds every default;
this module gathers what recognition uses into one typed value, read on every call so tests can override
them with pytest-django's `settings` fixture. Recognition reads its settings only through it."""

from __future__ import annotations

from dataclasses import dataclass
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
    return RecognitionSettings(
        face_model_pack=settings.FACE_MODEL_PACK,
        inference_device=settings.INFERENCE_DEVICE,
        ort_intra_op_threads=settings.ORT_INTRA_OP_THREADS,
        ort_allow_spinning=settings.ORT_ALLOW_SPINNING,
        models_dir=Path(settings.MODELS_DIR),
        emotion_uncertain_below=settings.EMOTION_UNCERTAIN_BELOW,
        enroll_min_face_px=settings.ENROLL_MIN_FACE_PX,
        enroll_min_sharpness=settings.ENROLL_MIN_SHARPNESS,
        enroll_max_yaw=settings.ENROLL_MAX_YAW,
        enroll_multiple_faces=settings.ENROLL_MULTIPLE_FACES,
        enroll_chunk_size=settings.ENROLL_CHUNK_SIZE,
        enroll_max_files=settings.ENROLL_MAX_FILES,
        enroll_max_file_bytes=settings.ENROLL_MAX_FILE_BYTES,
        enroll_max_total_bytes=settings.ENROLL_MAX_TOTAL_BYTES,
        enroll_resume_interval_s=settings.ENROLL_RESUME_INTERVAL_S,
        enroll_claim_lease_s=settings.ENROLL_CLAIM_LEASE_S,
        recycle_bin_retention_days=settings.RECYCLE_BIN_RETENTION_DAYS,
        erasure_ledger=Path(settings.ERASURE_LEDGER),
        api_max_image_bytes=settings.API_MAX_IMAGE_BYTES,
        api_max_image_pixels=settings.API_MAX_IMAGE_PIXELS,
        gallery_ef_search=settings.GALLERY_EF_SEARCH,
        calibration_sample=settings.CALIBRATION_SAMPLE,
        live_detect_every=settings.LIVE_DETECT_EVERY,
        live_recognize_every=settings.LIVE_RECOGNIZE_EVERY,
        live_defer_recognition=settings.LIVE_DEFER_RECOGNITION,
        live_max_message_bytes=settings.LIVE_MAX_MESSAGE_BYTES,
        live_max_frame_pixels=settings.LIVE_MAX_FRAME_PIXELS,
        live_max_fps=settings.LIVE_MAX_FPS,
        live_inference_channels=tuple(settings.LIVE_INFERENCE_CHANNELS),
        live_worker_timeout_s=settings.LIVE_WORKER_TIMEOUT_S,
        live_member_attendance=settings.LIVE_MEMBER_ATTENDANCE,
        unknown_face_min_s=settings.UNKNOWN_FACE_MIN_S,
        unknown_face_alert_s=settings.UNKNOWN_FACE_ALERT_S,
        liveness_steps=settings.LIVENESS_STEPS,
        liveness_timeout_s=settings.LIVENESS_TIMEOUT_S,
    )
