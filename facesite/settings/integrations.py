"""Outgoing events as signed webhooks and MQTT messages (read by integrations/conf.py)."""

from facesite.settings.base import PORT
from facesite.settings.paths import env

# The site's address as receivers reach it: links in payloads (an event's face crop, behind authentication).
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{PORT}")
# Webhooks: each try waits WEBHOOK_TIMEOUT_S for an answer; a failed try is retried after WEBHOOK_BACKOFF_S,
# doubling each time up to WEBHOOK_BACKOFF_MAX_S, WEBHOOK_MAX_ATTEMPTS tries in all (the defaults: ~12 hours).
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=20)
WEBHOOK_BACKOFF_S = env.float("WEBHOOK_BACKOFF_S", default=10.0)
WEBHOOK_BACKOFF_MAX_S = env.float("WEBHOOK_BACKOFF_MAX_S", default=3600.0)
WEBHOOK_REQUEUE_INTERVAL_S = env.int("WEBHOOK_REQUEUE_INTERVAL_S", default=60)
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
# MQTT: off unless MQTT_URL is set (mqtt://user:password@host:1883, or mqtts:// for TLS).
MQTT_URL = env("MQTT_URL", default="")
MQTT_TOPIC_PREFIX = env("MQTT_TOPIC_PREFIX", default="facesite")
MQTT_TIMEOUT_S = env.float("MQTT_TIMEOUT_S", default=5.0)
# A face the gallery keeps calling unknown in front of a recording stream (kiosk, camera, operator's page) is
# recorded after UNKNOWN_FACE_MIN_S (the dashboard's "unknown faces today"); at UNKNOWN_FACE_ALERT_S it also
# makes an `unknown_face.seen` event for webhooks and MQTT (devices only).
UNKNOWN_FACE_MIN_S = env.float("UNKNOWN_FACE_MIN_S", default=2.0)
UNKNOWN_FACE_ALERT_S = env.float("UNKNOWN_FACE_ALERT_S", default=10.0)
