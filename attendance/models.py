"""Attendance events: a recognised person at a source (camera, kiosk, page, API, exit) at a moment.

The log is append-only: rules decide an event's kind when it is recorded (attendance/rules.py), and a day's
summary (first in, last out, time present) is derived from the events, never stored.
"""

from __future__ import annotations

import uuid

from django.db import models

from attendance import rules
from recognition.models import Person


class Source(models.TextChoices):
    CAMERA = "camera", "camera"
    KIOSK = "kiosk", "kiosk"
    PAGE = "page", "web page"
    API = "api", "REST API"
    EXIT = "exit", "exit camera or kiosk"


class Kind(models.TextChoices):
    CHECK_IN = rules.CHECK_IN, "check-in"
    CHECK_OUT = rules.CHECK_OUT, "check-out"
    SEEN = rules.SEEN, "seen"


def evidence_path(instance: AttendanceEvent, filename: str) -> str:
    # A random name: the path says nothing about who is in the crop, and cannot be guessed.
    return f"evidence/{instance.at:%Y/%m/%d}/{uuid.uuid4().hex}.jpg"


class AttendanceEvent(models.Model):
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="attendance_events",
        help_text="empty once anonymised",
    )  # fmt: skip
    anonymous_key = models.CharField(
        max_length=32,
        blank=True,
        help_text="after anonymisation: the same random key for all of a person's rows",
    )
    at = models.DateTimeField(db_index=True)
    day = models.DateField(help_text="local date of `at` in the site's TIME_ZONE when it was recorded")
    source = models.CharField(max_length=32, choices=Source.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    score = models.FloatField(help_text="pooled cosine similarity of the match")
    margin = models.FloatField(help_text="how far the person beat the runner-up")
    emotion = models.CharField(max_length=16, blank=True)
    evidence = models.FileField(
        upload_to=evidence_path, max_length=200, blank=True, help_text="small face crop"
    )
    stream = models.CharField(max_length=200, blank=True, help_text="stream/track the sighting came from")
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="attendance_events",
        help_text="the kiosk or camera (and so the place); empty for the API, a browser page or the CLI",
    )  # fmt: skip
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["person", "day", "at"], name="attendance_person_day"),
            models.Index(fields=["day", "at"], name="attendance_day"),
        ]

    def __str__(self) -> str:
        who = self.person.display_name if self.person_id else (self.anonymous_key or "anonymous")
        return f"{who} {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M} ({self.source})"
