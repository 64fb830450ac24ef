"""Reads of the devices domain that other apps show (the home dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from devices.models import Device, Status


@dataclass(frozen=True)
class DeviceDown:
    name: str
    location: str
    status: str  # the status's label: offline, error, never seen
    last_seen: datetime | None


def devices_not_online() -> list[DeviceDown]:
    """Enabled kiosks and cameras that are not online now (disabled ones are meant to be off), longest down first."""
    rows = (
        Device.objects.filter(enabled=True).exclude(status=Status.ONLINE).select_related("location")
        .order_by("last_seen", "name")
    )  # fmt: skip
    return [DeviceDown(d.name, d.location.name, d.get_status_display(), d.last_seen) for d in rows]
