"""The integrations' settings in one place, with their defaults beside them (facesite/settings/integrations.py
reads the environment; this module only gathers what integrations uses, read on every call so tests can override)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class IntegrationSettings:
    site_url: str
    webhook_timeout_s: float
    webhook_max_attempts: int
    webhook_backoff_s: float
    webhook_backoff_max_s: float
    webhook_delivery_retention_days: int
    mqtt_url: str
    mqtt_topic_prefix: str
    mqtt_timeout_s: float
    unknown_face_alert_s: float


def integration_settings() -> IntegrationSettings:
    return IntegrationSettings(
        site_url=getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/"),
        webhook_timeout_s=float(getattr(settings, "WEBHOOK_TIMEOUT_S", 5.0)),
        webhook_max_attempts=max(1, int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 20))),
        webhook_backoff_s=float(getattr(settings, "WEBHOOK_BACKOFF_S", 10.0)),
        webhook_backoff_max_s=float(getattr(settings, "WEBHOOK_BACKOFF_MAX_S", 3600.0)),
        webhook_delivery_retention_days=int(getattr(settings, "WEBHOOK_DELIVERY_RETENTION_DAYS", 30)),
        mqtt_url=getattr(settings, "MQTT_URL", "") or "",
        mqtt_topic_prefix=(getattr(settings, "MQTT_TOPIC_PREFIX", "facesite") or "facesite").strip("/"),
        mqtt_timeout_s=float(getattr(settings, "MQTT_TIMEOUT_S", 5.0)),
        unknown_face_alert_s=float(getattr(settings, "UNKNOWN_FACE_ALERT_S", 10.0)),
    )
