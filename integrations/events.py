"""The events other systems receive, and what each carries: ids, names, times, scores, device and location.
Never an image: an attendance event's face crop is a link to the API, which asks for a token or a session.

One envelope for webhooks and MQTT alike:
    {"id": "<uuid>", "type": "attendance.created", "occurred_at": "<ISO 8601>",
     "device": {"id", "name", "kind"} | null, "location": {"id", "name"} | null, "data": {...}}
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone

from integrations.conf import integration_settings


class EventType(models.TextChoices):
    ATTENDANCE_CREATED = "attendance.created", "attendance event created"
    UNKNOWN_FACE = "unknown_face.seen", "unknown face at a device for longer than UNKNOWN_FACE_ALERT_S"
    DEVICE_ONLINE = "device.online", "device online"
    DEVICE_OFFLINE = "device.offline", "device offline"
    ENROLLMENT_FINISHED = "enrollment.finished", "enrollment batch finished"


@dataclass(frozen=True)
class Event:
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    device: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "type": self.type, "occurred_at": self.occurred_at.isoformat(),
            "device": self.device, "location": self.location, "data": self.data,
        }  # fmt: skip


def describe_device(device: Any) -> dict[str, Any] | None:
    """A device as receivers see it; read by attribute so integrations never imports the devices app."""
    if device is None:
        return None
    name, kind = getattr(device, "name", "") or "", getattr(device, "kind", "") or ""
    return {"id": device.pk, "name": str(name), "kind": str(kind)}


def describe_location(location: Any) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"id": location.pk, "name": str(getattr(location, "name", "") or "")}


def _absolute(path: str) -> str:
    return integration_settings().site_url + path


def _device_of(event: Any) -> Any:
    # Attendance events name their device once the devices app adds it; until then (and for API/page events)
    # there is none.
    return getattr(event, "device", None)


def attendance_created(event: Any) -> Event:
    """An AttendanceEvent, as other systems are told of it."""
    device = _device_of(event)
    data = {
        "id": event.pk,
        "person": {"id": event.person_id, "name": event.person.display_name} if event.person_id else None,
        "at": event.at.isoformat(), "day": event.day.isoformat(),
        "local_time": timezone.localtime(event.at).strftime("%H:%M:%S"),
        "kind": event.kind, "source": event.source,
        "score": round(float(event.score), 4), "margin": round(float(event.margin), 4),
        "url": _absolute(reverse("v1:attendance-detail", args=[event.pk])),
        # The crop itself never travels: this link answers only with an API token or a staff session.
        "evidence_url": _absolute(reverse("v1:attendance-evidence", args=[event.pk])) if event.evidence else None,
    }  # fmt: skip
    return Event(
        type=EventType.ATTENDANCE_CREATED, occurred_at=event.at, data=data, device=describe_device(device),
        location=describe_location(getattr(device, "location", None)),
    )  # fmt: skip


def enrollment_finished(batch: Any, counts: dict[str, int], people: int) -> Event:
    """A finished Enrollment batch: how many images were enrolled and rejected, how many files were refused."""
    data = {
        "id": batch.pk, "source": batch.source, "state": batch.state,
        "started_by": getattr(batch.started_by, "username", None) if batch.started_by_id else None,
        "created_at": batch.created_at.isoformat(),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "images": counts, "refused": len(batch.errors or []), "duplicates": batch.duplicates, "people": people,
        "url": _absolute(reverse("v1:enrollment-detail", args=[batch.pk])),
    }  # fmt: skip
    return Event(type=EventType.ENROLLMENT_FINISHED, occurred_at=batch.finished_at or timezone.now(), data=data)


def device_status(device: Any, *, online: bool, at: datetime | None = None, reason: str = "") -> Event:
    at = at or timezone.now()
    return Event(
        type=EventType.DEVICE_ONLINE if online else EventType.DEVICE_OFFLINE, occurred_at=at,
        data={"status": "online" if online else "offline", "at": at.isoformat(), "reason": str(reason or "")[:500]},
        device=describe_device(device), location=describe_location(getattr(device, "location", None)),
    )  # fmt: skip


def unknown_face(
    device: Any, *, seen_s: float, first_seen_at: datetime | None = None, track: str = "",
    nearest_score: float | None = None,
) -> Event:  # fmt: skip
    now = timezone.now()
    data = {
        "seen_s": round(float(seen_s), 1),
        "first_seen_at": (first_seen_at or now).isoformat(), "track": str(track or "")[:200],
        "nearest_score": None if nearest_score is None else round(float(nearest_score), 4),
    }  # fmt: skip
    return Event(
        type=EventType.UNKNOWN_FACE, occurred_at=now, data=data, device=describe_device(device),
        location=describe_location(getattr(device, "location", None)),
    )  # fmt: skip
