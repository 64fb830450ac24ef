"""Attendance events: a recognised person at a source (camera, kiosk, page, API, exit) at a moment.

The log is append-only: rules decide an event's kind when it is recorded (attendance/rules.py), and a day's
summary (first in, last out, time present) is derived from the events, never stored.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from attendance import rules
from attendance import shift_rules as rules_shift
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


# --- groups, schedules, leave, corrections (issue 17) -------------------------------------------------------
class UnknownFace(models.Model):
    """A face no one in the gallery matched that stayed in front of a recording stream (recognition.signals:
    unknown_face_lingered). No image is kept: when, where, how long, and how close the nearest person came."""

    first_seen_at = models.DateTimeField()
    day = models.DateField(help_text="local date of first_seen_at in the site's TIME_ZONE")
    seen_s = models.FloatField(help_text="how long it was in view, as last reported")
    nearest_score = models.FloatField(null=True, blank=True, help_text="the best gallery score, too low to name")
    source = models.CharField(max_length=32)
    stream = models.CharField(max_length=200, help_text="stream/track the face was seen on")
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="unknown_faces"
    )

    class Meta:
        ordering = ["-first_seen_at"]
        # a track's reports share its first sighting: one row per track (a restarted stream reuses track numbers)
        constraints = [models.UniqueConstraint(fields=["stream", "first_seen_at"], name="unknown_face_one_per_track")]
        indexes = [models.Index(fields=["day"], name="unknown_face_day")]

    def __str__(self) -> str:
        return f"unknown face at {self.source} {self.first_seen_at:%Y-%m-%d %H:%M} ({self.seen_s:.0f} s)"


class AttendanceGroup(models.Model):
    """A department, class or team. A person may be in several; operators who supervise a group see and manage
    only its members (an operator who supervises none sees everyone, as before groups existed)."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "department"
        CLASS = "class", "class"
        TEAM = "team", "team"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEAM)
    members = models.ManyToManyField(Person, blank=True, related_name="attendance_groups")
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="supervised_groups",
        help_text="operators limited to this group",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HolidayList(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    holiday_list = models.ForeignKey(HolidayList, on_delete=models.CASCADE, related_name="holidays")
    day = models.DateField()
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["holiday_list", "day"], name="one_holiday_per_list_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.description}"


class ShiftType(models.Model):
    """After Frappe HRMS's Shift Type; the rules that use it are in attendance/shift_rules.py."""

    name = models.CharField(max_length=120, unique=True)
    start = models.TimeField()
    end = models.TimeField(help_text="at or before the start: the shift ends the next day")
    time_zone = models.CharField(max_length=64, help_text="IANA name, e.g. Europe/Berlin")
    check_in_before_min = models.PositiveIntegerField(
        default=60, help_text="events count from this long before the start"
    )
    check_out_after_min = models.PositiveIntegerField(default=60, help_text="and until this long after the end")
    late_grace_min = models.PositiveIntegerField(default=0)
    early_exit_grace_min = models.PositiveIntegerField(default=0)
    half_day_below_h = models.FloatField(default=0, help_text="worked hours below this: half day (0: off)")
    absent_below_h = models.FloatField(default=0, help_text="worked hours below this: absent (0: off)")
    holiday_list = models.ForeignKey(HolidayList, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.start:%H:%M}-{self.end:%H:%M} {self.time_zone})"

    def spec(self) -> rules_shift.ShiftSpec:
        return rules_shift.ShiftSpec(
            start=self.start, end=self.end, zone=self.time_zone, check_in_before_min=self.check_in_before_min,
            check_out_after_min=self.check_out_after_min, late_grace_min=self.late_grace_min,
            early_exit_grace_min=self.early_exit_grace_min, half_day_below_h=self.half_day_below_h,
            absent_below_h=self.absent_below_h,
        )  # fmt: skip


WEEKDAYS_MON_FRI = 0b0011111


class ShiftAssignment(models.Model):
    """A shift for a group or for one person, from `first_day` to `last_day` (empty: open) on `weekdays`
    (bit 0 = Monday ... bit 6 = Sunday, of the shift's start day)."""

    shift = models.ForeignKey(ShiftType, on_delete=models.CASCADE, related_name="assignments")
    group = models.ForeignKey(AttendanceGroup, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="shift_assignments")  # fmt: skip
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="shift_assignments")  # fmt: skip
    first_day = models.DateField()
    last_day = models.DateField(null=True, blank=True)
    weekdays = models.PositiveSmallIntegerField(default=WEEKDAYS_MON_FRI)

    class Meta:
        ordering = ["-first_day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(group__isnull=True, person__isnull=False)
                | models.Q(group__isnull=False, person__isnull=True),
                name="assignment_to_group_or_person",
            ),
            models.CheckConstraint(
                condition=models.Q(last_day__isnull=True) | models.Q(last_day__gte=models.F("first_day")),
                name="assignment_days_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shift.name} for {self.group or self.person} from {self.first_day}"

    def weekday_set(self) -> frozenset[int]:
        return frozenset(d for d in range(7) if self.weekdays >> d & 1)


class Leave(models.Model):
    """Leave or an excused absence, entered by an operator, for whole local days."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="leaves")
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=200)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-first_day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")), name="leave_days_in_order"
            )  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.reason} for {self.person} {self.first_day}..{self.last_day}"


class Correction(models.Model):
    """A change to the attendance a summary sees: a missed check-in/out added, or an event marked wrong. The
    original events are never edited; approved corrections are applied on read."""

    class Kind(models.TextChoices):
        ADD = "add", "add a missed check-in/out"
        VOID = "void", "mark an event as wrong"

    class State(models.TextChoices):
        REQUESTED = "requested", "requested"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attendance_corrections")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField(null=True, blank=True, help_text="the missed event's time (add)")
    event_kind = models.CharField(max_length=16, blank=True, help_text="check_in or check_out (add)")
    event = models.ForeignKey(AttendanceEvent, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="corrections", help_text="the wrong event (void)")  # fmt: skip
    reason = models.CharField(max_length=300)
    state = models.CharField(max_length=12, choices=State.choices, default=State.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["person", "state"], name="correction_person_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="add", at__isnull=False) | models.Q(kind="void", event__isnull=False),
                name="correction_has_its_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.person} ({self.state})"
