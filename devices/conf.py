"""The devices app's settings in one place, with their defaults beside them (facesite/settings/devices.py reads
the environment; this module only gathers what devices uses, read on every call so tests can override)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class DeviceSettings:
    pairing_ttl_s: int
    kiosk_cookie: str
    kiosk_pair_attempts_per_hour: int
    camera_lease_s: float
    camera_worker_max: int
    camera_max_fps: float
    camera_reconnect_max_s: float
    camera_read_timeout_s: float
    camera_ort_intra_op_threads: int


def device_settings() -> DeviceSettings:
    return DeviceSettings(
        pairing_ttl_s=int(getattr(settings, "DEVICE_PAIRING_TTL_S", 15 * 60)),
        kiosk_cookie=getattr(settings, "KIOSK_COOKIE", "facesite_kiosk"),
        kiosk_pair_attempts_per_hour=int(getattr(settings, "KIOSK_PAIR_ATTEMPTS_PER_HOUR", 20)),
        camera_lease_s=float(getattr(settings, "CAMERA_LEASE_S", 30.0)),
        camera_worker_max=int(getattr(settings, "CAMERA_WORKER_MAX", 8)),
        camera_max_fps=float(getattr(settings, "CAMERA_MAX_FPS", 10.0)),
        camera_reconnect_max_s=float(getattr(settings, "CAMERA_RECONNECT_MAX_S", 30.0)),
        camera_read_timeout_s=float(getattr(settings, "CAMERA_READ_TIMEOUT_S", 10.0)),
        camera_ort_intra_op_threads=int(getattr(settings, "CAMERA_ORT_INTRA_OP_THREADS", 1)),
    )
