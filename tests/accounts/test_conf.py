"""accounts/conf.py: every call reads the current settings, and its defaults agree with facesite/settings."""

import os
from pathlib import Path

from accounts import conf

NAMES = {
    "signup_open": "SIGNUP_OPEN",
    "signup_photos": "SIGNUP_PHOTOS",
    "signup_min_photos": "SIGNUP_MIN_PHOTOS",
    "signup_capture_seconds": "SIGNUP_CAPTURE_SECONDS",
    "signup_frame_interval_ms": "SIGNUP_FRAME_INTERVAL_MS",
    "signup_min_pose_step": "SIGNUP_MIN_POSE_STEP",
    "signup_max_frame_bytes": "SIGNUP_MAX_FRAME_BYTES",
    "signup_pending_dir": "SIGNUP_PENDING_DIR",
    "signup_attempts_per_hour": "SIGNUP_ATTEMPTS_PER_HOUR",
    "liveness_required": "LIVENESS_REQUIRED",
    "liveness_timeout_s": "LIVENESS_TIMEOUT_S",
    "liveness_frame_interval_ms": "LIVENESS_FRAME_INTERVAL_MS",
    "consent_version": "CONSENT_VERSION",
    "consent_text": "CONSENT_TEXT",
    "admin_username": "ADMIN_USERNAME",
    "admin_email": "ADMIN_EMAIL",
    "admin_password": "ADMIN_PASSWORD",
    "enroll_self_approval": "ENROLL_SELF_APPROVAL",
    "anonymise_on_erasure": "ATTENDANCE_ANONYMISE_ON_ERASURE",
    "max_frame_pixels": "LIVE_MAX_FRAME_PIXELS",
    "recycle_bin_retention_days": "RECYCLE_BIN_RETENTION_DAYS",
}


def test_an_override_is_read_on_the_next_call(settings, tmp_path: Path) -> None:
    settings.SIGNUP_OPEN = False
    settings.SIGNUP_PENDING_DIR = str(tmp_path)
    read = conf.account_settings()
    assert (read.signup_open, read.signup_pending_dir) == (False, tmp_path)


def test_the_admin_password_is_never_in_its_repr(settings) -> None:
    settings.ADMIN_PASSWORD = "Secret-Lantern-42"
    assert "Secret-Lantern-42" not in repr(conf.account_settings())


def test_the_defaults_are_those_of_facesite_settings(settings) -> None:
    from facesite import settings as project

    expected = {field: getattr(project, name) for field, name in NAMES.items() if name not in os.environ}
    for name in NAMES.values():
        delattr(settings, name)
    settings.VAR_DIR = project.VAR_DIR
    read = conf.account_settings()
    for field, value in expected.items():
        assert getattr(read, field) == value, field
