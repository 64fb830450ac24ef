"""Places and the devices at them: kiosks (a tablet running /kiosk/) and IP cameras (read by the camera worker).

A device's secrets never leave the database in the clear: a kiosk's credential and pairing code are stored as
SHA-256 hashes, a camera's stream password encrypted with a key derived from SECRET_KEY (devices/secrets.py).
"""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(name: str) -> None:
    if name and name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not an IANA time zone name (e.g. Europe/Paris)")


class Location(models.Model):
    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(
        max_length=64, blank=True, validators=[validate_time_zone],
        help_text="IANA name (e.g. Europe/Paris); empty: the site's TIME_ZONE",
    )  # fmt: skip

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Kind(models.TextChoices):
    KIOSK = "kiosk", "kiosk"
    CAMERA = "camera", "IP camera"


class Direction(models.TextChoices):
    IN = "in", "entrance"
    OUT = "out", "exit"
    BOTH = "both", "both ways"


class Status(models.TextChoices):
    UNKNOWN = "unknown", "never seen"
    ONLINE = "online", "online"
    OFFLINE = "offline", "offline"
    ERROR = "error", "error"


class Device(models.Model):
    name = models.CharField(max_length=120)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="devices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.IN,
        help_text="an exit's sightings are check-outs; entrances and both-ways devices follow the day's rules",
    )  # fmt: skip
    enabled = models.BooleanField(default=True)
    require_liveness = models.BooleanField(
        default=False,
        help_text="kiosks: a recognised person turns their head as asked (the liveness challenge) before the "
                  "check-in is recorded, so a photo held to the tablet does not check anyone in",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNKNOWN)
    last_seen = models.DateTimeField(null=True, blank=True, help_text="last frame or kiosk connection")
    created_at = models.DateTimeField(auto_now_add=True)

    # kiosks: a one-time pairing code, then a device credential (both hashed)
    pairing_code_hash = models.CharField(max_length=64, blank=True, editable=False)
    pairing_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    credential_hash = models.CharField(max_length=64, blank=True, editable=False)
    paired_at = models.DateTimeField(null=True, blank=True, editable=False)

    # cameras: where the stream is (the URL without its password) and the password, encrypted
    stream_url = models.CharField(
        max_length=500, blank=True,
        help_text="rtsp://, http(s):// (MJPEG) or a file path; a password in it is stored apart, encrypted",
    )  # fmt: skip
    stream_secret = models.TextField(blank=True, editable=False, help_text="encrypted stream password")
    fps = models.FloatField(null=True, blank=True, help_text="frames processed per second (camera worker)")
    last_frame_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # the camera worker's lease: one worker reads a camera until `lease_expires_at` (renewed while it reads)
    lease_owner = models.CharField(max_length=100, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="device_name_per_location"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location.name})"

    @property
    def attendance_source(self) -> str:
        """The attendance source word its sightings are recorded under: an exit's are check-outs."""
        return "exit" if self.direction == Direction.OUT else self.kind
