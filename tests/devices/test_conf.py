"""devices/conf.py: every call reads the current settings, and its defaults agree with facesite/settings."""

import os

from devices import conf
from devices.camera_worker import WorkerOptions

NAMES = {
    "pairing_ttl_s": "DEVICE_PAIRING_TTL_S",
    "kiosk_cookie": "KIOSK_COOKIE",
    "kiosk_pair_attempts_per_hour": "KIOSK_PAIR_ATTEMPTS_PER_HOUR",
    "camera_lease_s": "CAMERA_LEASE_S",
    "camera_worker_max": "CAMERA_WORKER_MAX",
    "camera_max_fps": "CAMERA_MAX_FPS",
    "camera_reconnect_max_s": "CAMERA_RECONNECT_MAX_S",
    "camera_read_timeout_s": "CAMERA_READ_TIMEOUT_S",
    "camera_ort_intra_op_threads": "CAMERA_ORT_INTRA_OP_THREADS",
}


def test_worker_options_come_from_the_settings_and_flags_win(settings) -> None:
    settings.CAMERA_MAX_FPS = 3
    settings.CAMERA_WORKER_MAX = 2
    options = WorkerOptions.from_settings(max_cameras=5, lease_s=None)
    assert (options.max_fps, options.max_cameras, options.lease_s) == (3.0, 5, conf.device_settings().camera_lease_s)


def test_the_defaults_are_those_of_facesite_settings(settings) -> None:
    from facesite import settings as project

    expected = {field: getattr(project, name) for field, name in NAMES.items() if name not in os.environ}
    for name in NAMES.values():
        delattr(settings, name)
    read = conf.device_settings()
    for field, value in expected.items():
        assert getattr(read, field) == value, field
