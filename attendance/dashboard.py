"""What the home dashboard shows, read for one user: today's board (present now, late, absent so far, not yet
started, on leave; unknown faces today and devices not online, which are not per person) and the last 14 days
as counts for the chart, for the people the user may see; for a member, their week, their status today and
their correction requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from attendance import charts, reports
from attendance.models import Correction, Kind, UnknownFace
from attendance.selectors import visible_events, visible_people
from attendance.shift_rules import Status
from devices.selectors import DeviceDown, devices_not_online

CHART_DAYS = 14
NAMES_LISTED = 30


@dataclass(frozen=True)
class Board:
    day: date
    people: int
    present_now: int  # came today and have not checked out
    late: list[tuple[str, int]]  # (name, minutes), latest first
    absent: list[str]
    upcoming: int
    on_leave: int
    late_count: int
    absent_count: int
    unknown_faces: int  # faces no one matched that stayed UNKNOWN_FACE_MIN_S in front of a recording stream
    devices_down: list[DeviceDown]


def today_board(user, now: datetime | None = None) -> Board:
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = reports.build(user, reports.ReportQuery(today, today), now=now)
    last_kind: dict[int, str] = {}
    for person_id, kind in visible_events(user).filter(day=today, person__isnull=False).order_by("at").values_list(
        "person_id", "kind"
    ):
        last_kind[person_id] = kind
    late = sorted(((r.person, r.status.late_min) for r in report.days if r.status.late_min),
                  key=lambda item: -item[1])  # fmt: skip
    absent = [r.person for r in report.days if r.status.status is Status.ABSENT]
    return Board(
        day=today,
        people=len(report.people),
        present_now=sum(1 for kind in last_kind.values() if kind != Kind.CHECK_OUT),
        late=late[:NAMES_LISTED],
        absent=absent[:NAMES_LISTED],
        upcoming=sum(1 for r in report.days if r.status.status is Status.UPCOMING),
        on_leave=sum(1 for r in report.days if r.status.status is Status.ON_LEAVE),
        late_count=len(late),
        absent_count=len(absent),
        unknown_faces=UnknownFace.objects.filter(day=today).count(),
        devices_down=devices_not_online(),
    )


def recent_days(user, now: datetime | None = None, days: int = CHART_DAYS) -> list[charts.DayCounts]:
    """Present / late / absent per day over the last `days` days, today included (one report, set-based)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = reports.build(user, reports.ReportQuery(today - timedelta(days=days - 1), today), now=now)
    counts: dict[date, list[int]] = {today - timedelta(days=n): [0, 0, 0] for n in range(days)}
    for row in report.days:
        status = row.status.status
        slot = counts[row.day]
        if status is Status.LATE or row.status.late_min:
            slot[1] += 1
        elif status in reports.ATTENDED:
            slot[0] += 1
        elif status is Status.ABSENT:
            slot[2] += 1
    return [charts.DayCounts(day, *counts[day]) for day in sorted(counts)]


@dataclass(frozen=True)
class MemberHome:
    person_name: str
    week: list[reports.PersonDayStatus]
    today: reports.PersonDayStatus | None
    requests: list[Correction]


def member_home(user, now: datetime | None = None) -> MemberHome | None:
    now = now or timezone.now()
    today = timezone.localdate(now)
    person = visible_people(user).first()
    if person is None:
        return None
    monday = today - timedelta(days=today.weekday())
    week = reports.build(user, reports.ReportQuery(monday, monday + timedelta(days=6), person_id=person.pk), now=now)
    todays = next((r for r in week.days if r.day == today), None)
    requests = list(Correction.objects.filter(person=person).order_by("-created_at")[:10])
    return MemberHome(person.display_name, week.days, todays, requests)


# --- emotion shares per live session or source ----------------------------------------------------------------
@dataclass(frozen=True)
class EmotionSeries:
    key: str  # the live session (stream id) or the source
    faces: int
    buckets: list[charts.ShareBucket]


def emotion_series(user, day: date, *, bucket_minutes: int = 60) -> list[EmotionSeries]:
    """The emotions of a day's attendance events the user may see, per live session (the stream id before
    "/track-") or per source when there is no stream, in buckets of local time. One query."""
    grouped: dict[str, dict[str, dict[str, int]]] = {}
    rows = visible_events(user).filter(day=day).order_by("at").values_list("at", "source", "stream", "emotion")
    for at, source, stream, emotion in rows:
        key = stream.split("/")[0] if stream else source
        local = timezone.localtime(at)
        minute = (local.hour * 60 + local.minute) // bucket_minutes * bucket_minutes
        label = f"{minute // 60:02d}:{minute % 60:02d}"
        label_counts = grouped.setdefault(key, {}).setdefault(label, {})
        name = emotion or "unknown"
        label_counts[name] = label_counts.get(name, 0) + 1
    return [
        EmotionSeries(key, sum(sum(c.values()) for c in buckets.values()),
                      [charts.ShareBucket(label, counts) for label, counts in buckets.items()])  # fmt: skip
        for key, buckets in sorted(grouped.items())
    ]
