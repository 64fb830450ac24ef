"""Shift rules, pure: which shift applies to a person on a day, the shift's window in real time, and the day's
status derived from the events (never typed in). No Django and no settings here: callers pass plain values.

After Frappe HRMS's Shift Type, in "first check-in and last check-out" mode:
- A shift starts on a local day at `start` and ends at `end` in the shift's own time zone; an end at or before
  the start is on the next day (a night shift). Both ends are placed on the wall clock of their own day, so a
  DST change makes a night shift an hour shorter or longer in real time, as the people working it live it.
- Events count for the shift from `check_in_before_min` before the start until `check_out_after_min` after the
  end. The first is the arrival, the last the departure (when there are two or more); the events' own kinds
  (decided per calendar day by attendance/rules.py) are not used, so a night shift is judged as one shift.
- Late: arrival after start + `late_grace_min`; the minutes are counted from the start (the grace is a
  tolerance, not a discount). Early exit: departure before end - `early_exit_grace_min`, counted to the end.
- Worked time: departure - arrival, elapsed (UTC). Below `absent_below_h` -> absent; below `half_day_below_h`
  -> half day (thresholds of 0 are off; judged once the shift's window has closed). Overtime: worked beyond
  the scheduled duration.
- Precedence: holiday, then leave, then no schedule, then the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Status(StrEnum):
    PRESENT = "present"
    LATE = "late"
    EARLY_EXIT = "early_exit"
    HALF_DAY = "half_day"
    ABSENT = "absent"
    ON_LEAVE = "on_leave"
    HOLIDAY = "holiday"
    NO_SCHEDULE = "no_schedule"
    UPCOMING = "upcoming"  # the shift has not started (or is inside its late grace) and nobody came yet

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.PRESENT: "present", Status.LATE: "late", Status.EARLY_EXIT: "early exit",
    Status.HALF_DAY: "half day", Status.ABSENT: "absent", Status.ON_LEAVE: "on leave",
    Status.HOLIDAY: "holiday", Status.NO_SCHEDULE: "no schedule", Status.UPCOMING: "not started",
}  # fmt: skip


@dataclass(frozen=True)
class ShiftSpec:
    start: time
    end: time
    zone: str  # IANA name, e.g. Europe/Berlin
    check_in_before_min: int = 60
    check_out_after_min: int = 60
    late_grace_min: int = 0
    early_exit_grace_min: int = 0
    half_day_below_h: float = 0.0
    absent_below_h: float = 0.0


@dataclass(frozen=True)
class AssignmentSpec:
    """A shift given to a person (direct) or to one of their groups, from `first` to `last` (None: open) on
    the `weekdays` (0 = Monday) of the shift's start day."""

    shift_id: int
    first: date
    last: date | None
    weekdays: frozenset[int]
    direct: bool


@dataclass(frozen=True)
class ShiftWindow:
    start: datetime  # aware, in the shift's zone
    end: datetime
    opens: datetime  # first moment an event counts
    closes: datetime  # last moment an event counts

    @property
    def scheduled_s(self) -> float:
        return elapsed_s(self.start, self.end)


@dataclass(frozen=True)
class DayStatus:
    day: date
    status: Status
    late_min: int = 0
    early_exit_min: int = 0
    worked_s: float = 0.0
    overtime_s: float = 0.0
    arrival: datetime | None = None
    departure: datetime | None = None
    scheduled_s: float = 0.0
    missing_check_out: bool = False  # one event only, and the window has closed

    @property
    def worked_h(self) -> float:
        return round(self.worked_s / 3600, 2)


def elapsed_s(start: datetime, end: datetime) -> float:
    # In UTC: Python subtracts two datetimes of one zone by wall clock, which a DST change skews.
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def _wall(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time of a day as a real instant. A time skipped by a DST change (02:30 on the spring-forward
    night) is read with the offset before the change, i.e. it lands one hour later, as a clock set forward does."""
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def shift_window(shift: ShiftSpec, day: date) -> ShiftWindow:
    zone = ZoneInfo(shift.zone)
    start = _wall(day, shift.start, zone)
    end_day = day + timedelta(days=1) if shift.end <= shift.start else day
    end = _wall(end_day, shift.end, zone)
    return ShiftWindow(
        start=start,
        end=end,
        opens=start - timedelta(minutes=shift.check_in_before_min),
        closes=end + timedelta(minutes=shift.check_out_after_min),
    )


def pick_assignment(assignments: Iterable[AssignmentSpec], day: date) -> AssignmentSpec | None:
    """The assignment that applies on `day`: one given to the person beats one given to a group; among equals
    the one that started latest (a new rota replaces an old one without editing it)."""
    live = [
        a for a in assignments
        if a.first <= day and (a.last is None or day <= a.last) and day.weekday() in a.weekdays
    ]  # fmt: skip
    if not live:
        return None
    return max(live, key=lambda a: (a.direct, a.first, a.shift_id))


def day_status(
    *,
    day: date,
    shift: ShiftSpec | None,
    events: Sequence[datetime],
    now: datetime,
    on_leave: bool = False,
    holiday: bool = False,
    window: ShiftWindow | None = None,
) -> DayStatus:
    """The status of one person's day. `events`: the (corrected) instants of their events, any order; only
    those inside the shift's window count. Without a shift, worked time is first to last of `events`.
    `window`: the shift's window of that day when the caller has it already (a report computes it once per
    shift and day, not once per person)."""
    if shift is None:
        ordered = sorted(events)
        worked = elapsed_s(ordered[0], ordered[-1]) if len(ordered) > 1 else 0.0
        status = Status.HOLIDAY if holiday else Status.ON_LEAVE if on_leave else Status.NO_SCHEDULE
        return DayStatus(day=day, status=status, worked_s=worked, overtime_s=worked,
                         arrival=ordered[0] if ordered else None,
                         departure=ordered[-1] if len(ordered) > 1 else None)  # fmt: skip
    window = window or shift_window(shift, day)
    # Bounds in UTC: aware datetimes of one tzinfo compare without asking each for its offset (a report makes
    # tens of thousands of these comparisons; events come from the database in UTC).
    opens, closes = window.opens.astimezone(UTC), window.closes.astimezone(UTC)
    inside = sorted(e for e in events if opens <= e <= closes)
    arrival = inside[0] if inside else None
    departure = inside[-1] if len(inside) > 1 else None
    worked = elapsed_s(arrival, departure) if departure else 0.0
    scheduled = window.scheduled_s
    overtime = max(0.0, worked - scheduled)
    base = {"day": day, "arrival": arrival, "departure": departure, "worked_s": worked, "scheduled_s": scheduled}
    if holiday:
        return DayStatus(status=Status.HOLIDAY, overtime_s=worked, **base)
    if on_leave:
        return DayStatus(status=Status.ON_LEAVE, **base)
    if arrival is None:
        if now < window.start + timedelta(minutes=shift.late_grace_min):
            return DayStatus(status=Status.UPCOMING, **base)
        return DayStatus(status=Status.ABSENT, **base)
    late_s = elapsed_s(window.start, arrival)
    late_min = int(late_s // 60) if late_s > shift.late_grace_min * 60 else 0
    early_min = 0
    if departure is not None and now > window.end:  # during the shift the last event is not a departure yet
        early_s = elapsed_s(departure, window.end)
        if early_s > shift.early_exit_grace_min * 60:
            early_min = -int(-early_s // 60)  # a partial minute early counts as a minute
    closed = now > window.closes
    status = Status.PRESENT
    if late_min:
        status = Status.LATE
    elif early_min:
        status = Status.EARLY_EXIT
    if closed and departure is not None:  # one event only: the hours are unknown, not zero
        hours = worked / 3600
        if shift.absent_below_h and hours < shift.absent_below_h:
            status = Status.ABSENT
        elif shift.half_day_below_h and hours < shift.half_day_below_h:
            status = Status.HALF_DAY
    return DayStatus(status=status, late_min=late_min, early_exit_min=early_min, overtime_s=overtime,
                     missing_check_out=closed and departure is None, **base)  # fmt: skip


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
