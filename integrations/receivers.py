"""Signal receivers: each turns a domain signal into an Event and publishes it. Connected in apps.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations import dispatch, events, webhooks
from integrations.conf import integration_settings


def on_attendance_recorded(sender, event, **kwargs) -> None:
    dispatch.publish(events.attendance_created(event))


def on_enrollment_finished(sender, enrollment, **kwargs) -> None:
    from django.db.models import Count

    rows = enrollment.images.values("status").annotate(n=Count("pk"))
    counts = {row["status"]: row["n"] for row in rows}
    people = enrollment.images.values("person_id").distinct().count()
    dispatch.publish(events.enrollment_finished(enrollment, counts, people))


def on_device_status_changed(
    sender, device: Any, online: bool, at: datetime | None = None, reason: str = "", **kwargs
) -> None:
    dispatch.publish(events.device_status(device, online=online, at=at, reason=reason))


def on_device_status(sender, device: Any, previous: str, status: str, **kwargs) -> None:
    """The devices app's own status signal (online / offline / error): told only when a device comes up or goes
    away, not when it moves from offline to error."""
    online, was_online = status == "online", previous == "online"
    if online != was_online:
        on_device_status_changed(sender, device, online=online, reason="" if online else (device.last_error or status))


def on_unknown_face_recorded(sender, face: Any, **kwargs) -> None:
    """attendance recorded (or lengthened) an unknown face; devices' faces past the alert time become events.
    A track is reported at UNKNOWN_FACE_MIN_S and again at UNKNOWN_FACE_ALERT_S, so one event per track."""
    if face.device is None or face.seen_s < integration_settings().unknown_face_alert_s:
        return  # a browser page, or a passer-by rather than someone waiting at the door
    event = events.unknown_face(face.device, seen_s=face.seen_s, first_seen_at=face.first_seen_at, track=face.stream,
                                nearest_score=face.nearest_score)  # fmt: skip
    dispatch.publish(event)


def on_person_erasing(sender, person, **kwargs) -> int:
    return webhooks.forget_person(person.pk)
