"""The accounts app's settings in one place, with their defaults beside them (facesite/settings/accounts.py reads
the environment; this module only gathers what accounts uses, read on every call so tests can override)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

DEFAULT_CONSENT_TEXT = (
    "I agree that this site stores photos of my face and numeric face templates computed from them, "
    "to recognise me on its cameras and record my attendance. I can delete my photos and face templates at any "
    "time from my profile; attendance already recorded is then anonymised or kept as the site's settings say."
)


@dataclass(frozen=True)
class AccountSettings:
    signup_open: bool
    signup_photos: int
    signup_min_photos: int
    signup_capture_seconds: int
    signup_frame_interval_ms: int
    signup_min_pose_step: float
    signup_max_frame_bytes: int
    signup_pending_dir: Path
    signup_attempts_per_hour: int
    liveness_required: bool
    liveness_timeout_s: float
    liveness_frame_interval_ms: int
    consent_version: str
    consent_text: str
    admin_username: str
    admin_email: str
    admin_password: str = field(repr=False)
    # Other apps' settings that accounts acts on: self-enrolled people's approval (recognition), what an erasure
    # does to attendance rows (attendance), a webcam frame's size and the recycle bin's retention (recognition).
    enroll_self_approval: bool = False
    anonymise_on_erasure: bool = True
    max_frame_pixels: int = 1920 * 1080
    recycle_bin_retention_days: int = 30


def account_settings() -> AccountSettings:
    return AccountSettings(
        signup_open=bool(getattr(settings, "SIGNUP_OPEN", True)),
        signup_photos=int(getattr(settings, "SIGNUP_PHOTOS", 6)),
        signup_min_photos=int(getattr(settings, "SIGNUP_MIN_PHOTOS", 4)),
        signup_capture_seconds=int(getattr(settings, "SIGNUP_CAPTURE_SECONDS", 20)),
        signup_frame_interval_ms=int(getattr(settings, "SIGNUP_FRAME_INTERVAL_MS", 400)),
        signup_min_pose_step=float(getattr(settings, "SIGNUP_MIN_POSE_STEP", 6.0)),
        signup_max_frame_bytes=int(getattr(settings, "SIGNUP_MAX_FRAME_BYTES", 2 * 1024 * 1024)),
        signup_pending_dir=Path(getattr(settings, "SIGNUP_PENDING_DIR", Path(settings.VAR_DIR) / "signup")),
        signup_attempts_per_hour=int(getattr(settings, "SIGNUP_ATTEMPTS_PER_HOUR", 10)),
        liveness_required=bool(getattr(settings, "LIVENESS_REQUIRED", True)),
        liveness_timeout_s=float(getattr(settings, "LIVENESS_TIMEOUT_S", 20.0)),
        liveness_frame_interval_ms=int(getattr(settings, "LIVENESS_FRAME_INTERVAL_MS", 120)),
        consent_version=str(getattr(settings, "CONSENT_VERSION", "1")),
        consent_text=str(getattr(settings, "CONSENT_TEXT", DEFAULT_CONSENT_TEXT)),
        admin_username=getattr(settings, "ADMIN_USERNAME", "admin"),
        admin_email=getattr(settings, "ADMIN_EMAIL", "admin@localhost"),
        admin_password=getattr(settings, "ADMIN_PASSWORD", ""),
        enroll_self_approval=bool(getattr(settings, "ENROLL_SELF_APPROVAL", False)),
        anonymise_on_erasure=bool(getattr(settings, "ATTENDANCE_ANONYMISE_ON_ERASURE", True)),
        max_frame_pixels=int(getattr(settings, "LIVE_MAX_FRAME_PIXELS", 1920 * 1080)),
        recycle_bin_retention_days=int(getattr(settings, "RECYCLE_BIN_RETENTION_DAYS", 30)),
    )
