"""Attendance reports, read set-based: each person's status for every day of a range, from the events (as
corrected), shift assignments, holidays and leave, with totals per person and per group.

A handful of queries whatever the size (people, memberships, assignments, holidays, leave, events, corrections);
the statuses are computed on read by attendance/shift_rules.py, so a late-arriving event, an approved
correction or a changed schedule shows up the next time a report is asked for.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from attendance import shift_rules
from attendance.models import AttendanceEvent, AttendanceGroup, Correction, Holiday, Leave, ShiftAssignment
from attendance.selectors import InvalidQuery, visible_groups, visible_people
from attendance.shift_rules import DayStatus, Status

MAX_DAYS = 366
PERIODS = ("day", "week", "month", "range")
# statuses in which the person came
ATTENDED = frozenset({Status.PRESENT, Status.LATE, Status.EARLY_EXIT, Status.HALF_DAY})


@dataclass(frozen=True)
class ReportQuery:
    first: date
    last: date
    group_id: int | None = None
    person_id: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], today: date) -> ReportQuery:
        """?period=day|week|month&day=YYYY-MM-DD (the period holding that day), or ?from=&to= (a range), and
        optionally &group=<id> &person=<id>. Without dates: this month."""
        errors: dict[str, str] = {}
        values: dict = {}
        for name, key in (("group", "group_id"), ("person", "person_id")):
            raw = (params.get(name) or "").strip()
            if raw:
                if raw.isdigit():
                    values[key] = int(raw)
                else:
                    errors[name] = "an id (a whole number)"
        dates: dict[str, date | None] = {}
        for name in ("day", "from", "to"):
            raw = (params.get(name) or "").strip()
            try:
                dates[name] = parse_date(raw) if raw else None
            except ValueError:
                dates[name] = None
            if raw and dates[name] is None:
                errors[name] = "a date (YYYY-MM-DD)"
        period = (params.get("period") or "").strip() or ("range" if dates.get("from") or dates.get("to") else "month")
        if period not in PERIODS:
            errors["period"] = f"one of {', '.join(PERIODS)}"
        if errors:
            raise InvalidQuery(errors)
        anchor = dates["day"] or today
        if period == "day":
            first = last = anchor
        elif period == "week":
            first = anchor - timedelta(days=anchor.weekday())
            last = first + timedelta(days=6)
        elif period == "month":
            first = anchor.replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            first = dates["from"] or dates["to"] or today
            last = dates["to"] or first
        if last < first:
            raise InvalidQuery({"to": f"the range is reversed: {first} is after {last}"})
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidQuery({"to": f"at most {MAX_DAYS} days in one report"})
        return cls(first=first, last=last, **values)

    def as_params(self) -> dict[str, str]:
        out = {"period": "range", "from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.group_id:
            out["group"] = str(self.group_id)
        if self.person_id:
            out["person"] = str(self.person_id)
        return out


@dataclass(frozen=True)
class PersonDayStatus:
    person_id: int
    person: str
    shift: str  # the shift's name, "" without one
    status: DayStatus

    @property
    def day(self) -> date:
        return self.status.day


@dataclass
class Totals:
    """What a range adds up to for one person (or a group: the sum of its members)."""

    person_id: int | None
    name: str
    scheduled_days: int = 0
    present_days: int = 0  # came: present, late, early exit or half day
    late_days: int = 0
    late_min: int = 0
    early_exit_days: int = 0
    early_exit_min: int = 0
    half_days: int = 0
    absent_days: int = 0
    leave_days: int = 0
    holidays: int = 0
    missing_check_outs: int = 0
    worked_s: float = 0.0
    overtime_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, s: DayStatus) -> None:
        self.statuses[s.status.value] = self.statuses.get(s.status.value, 0) + 1
        if s.status not in (Status.NO_SCHEDULE, Status.HOLIDAY, Status.UPCOMING):
            self.scheduled_days += 1
        self.present_days += s.status in ATTENDED
        self.late_days += s.late_min > 0
        self.late_min += s.late_min
        self.early_exit_days += s.early_exit_min > 0
        self.early_exit_min += s.early_exit_min
        self.half_days += s.status is Status.HALF_DAY
        self.absent_days += s.status is Status.ABSENT
        self.leave_days += s.status is Status.ON_LEAVE
        self.holidays += s.status is Status.HOLIDAY
        self.missing_check_outs += s.missing_check_out
        self.worked_s += s.worked_s
        self.overtime_s += s.overtime_s

    def merge(self, other: Totals) -> None:
        for name in ("scheduled_days", "present_days", "late_days", "late_min", "early_exit_days",
                     "early_exit_min", "half_days", "absent_days", "leave_days", "holidays", "missing_check_outs",
                     "worked_s", "overtime_s"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, count in other.statuses.items():
            self.statuses[key] = self.statuses.get(key, 0) + count

    @property
    def worked_h(self) -> float:
        return round(self.worked_s / 3600, 2)

    @property
    def overtime_h(self) -> float:
        return round(self.overtime_s / 3600, 2)


@dataclass(frozen=True)
class Report:
    query: ReportQuery
    days: list[PersonDayStatus]  # by person name, then day
    people: list[Totals]
    total: Totals
    group: str = ""
    groups: list[Totals] = field(default_factory=list)  # per group among these people (person_id: the group's id)


def corrected_event_times(person_ids, start: datetime, end: datetime) -> dict[int, list[datetime]]:
    """Each person's event instants in [start, end), sorted: the recorded events less those an approved
    correction marks wrong, plus the approved added check-ins/outs. Two queries."""
    voided = Correction.objects.filter(kind=Correction.Kind.VOID, state=Correction.State.APPROVED).values("event_id")
    times: dict[int, list[datetime]] = defaultdict(list)
    rows = (
        AttendanceEvent.objects.filter(person_id__in=person_ids, at__gte=start, at__lt=end)
        .exclude(pk__in=voided)
        .values_list("person_id", "at")
    )
    for person_id, at in rows.iterator(chunk_size=10_000):
        times[person_id].append(at)
    added = Correction.objects.filter(
        kind=Correction.Kind.ADD, state=Correction.State.APPROVED, person_id__in=person_ids, at__gte=start, at__lt=end
    ).values_list("person_id", "at")
    for person_id, at in added:
        times[person_id].append(at)
    for values in times.values():
        values.sort()
    return times


def _day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """A local day as UTC instants (the events' own zone: comparisons stay cheap)."""
    start = timezone.make_aware(datetime.combine(day, time()), zone)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time()), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def build(user, query: ReportQuery, *, now: datetime | None = None) -> Report:
    """The report `user` may see: only the people they may see (an operator limited to their groups, a member
    themself); an unknown or invisible group or person gives an empty report, not an error that tells it
    exists."""
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    people_qs = visible_people(user)
    group_name = ""
    if query.group_id is not None:
        group = visible_groups(user).filter(pk=query.group_id).first()
        people_qs = people_qs.filter(attendance_groups=query.group_id) if group else people_qs.none()
        group_name = group.name if group else ""
    if query.person_id is not None:
        people_qs = people_qs.filter(pk=query.person_id)
    people = list(people_qs.order_by("display_name", "pk").values_list("pk", "display_name"))
    ids = [pk for pk, _ in people]
    if not ids:
        return Report(query, [], [], Totals(None, group_name or "total"), group_name)

    memberships: dict[int, list[int]] = defaultdict(list)
    for person_id, group_id in AttendanceGroup.members.through.objects.filter(person_id__in=ids).values_list(
        "person_id", "attendancegroup_id"
    ):
        memberships[person_id].append(group_id)
    group_ids = {g for groups in memberships.values() for g in groups}
    overlapping = Q(first_day__lte=query.last) & (Q(last_day__isnull=True) | Q(last_day__gte=query.first))
    assignments = list(
        ShiftAssignment.objects.filter(overlapping & (Q(person_id__in=ids) | Q(group_id__in=group_ids))).select_related(
            "shift"
        )
    )
    shifts = {a.shift_id: a.shift for a in assignments}
    specs = {pk: shift.spec() for pk, shift in shifts.items()}
    holiday_lists = {shift.holiday_list_id for shift in shifts.values() if shift.holiday_list_id}
    holidays = set(
        Holiday.objects.filter(holiday_list_id__in=holiday_lists, day__range=(query.first, query.last)).values_list(
            "holiday_list_id", "day"
        )
    )
    leave: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for person_id, first, last in Leave.objects.filter(
        person_id__in=ids, first_day__lte=query.last, last_day__gte=query.first
    ).values_list("person_id", "first_day", "last_day"):
        leave[person_id].append((first, last))
    by_person: dict[int, list[shift_rules.AssignmentSpec]] = defaultdict(list)
    by_group: dict[int, list[shift_rules.AssignmentSpec]] = defaultdict(list)
    for a in assignments:
        spec = shift_rules.AssignmentSpec(a.shift_id, a.first_day, a.last_day, a.weekday_set(), a.person_id is not None)
        (by_person[a.person_id] if a.person_id else by_group[a.group_id]).append(spec)

    # Events from a day before the range (a zone far east of the site's) to two days after (a night shift's
    # check-out plus its allowance); each day takes only the events inside its own window.
    span_start = _day_bounds(query.first - timedelta(days=1), zone)[0]
    span_end = _day_bounds(query.last + timedelta(days=2), zone)[0]
    times = corrected_event_times(ids, span_start, span_end)
    windows: dict[tuple[int, date], shift_rules.ShiftWindow] = {}
    all_days = shift_rules.days(query.first, query.last)

    rows: list[PersonDayStatus] = []
    totals: list[Totals] = []
    for person_id, name in people:
        candidates = by_person.get(person_id, []) + [a for g in memberships.get(person_id, ()) for a in by_group[g]]
        events = times.get(person_id, [])
        person_total = Totals(person_id, name)
        for day in all_days:
            chosen = shift_rules.pick_assignment(candidates, day) if candidates else None
            on_leave = any(first <= day <= last for first, last in leave.get(person_id, ()))
            if chosen is None:
                lo, hi = _day_bounds(day, zone)
                todays = events[bisect_left(events, lo) : bisect_left(events, hi)]
                status = shift_rules.day_status(day=day, shift=None, events=todays, now=now, on_leave=on_leave)
                shift_name = ""
            else:
                shift = shifts[chosen.shift_id]
                key = (chosen.shift_id, day)
                window = windows.get(key) or windows.setdefault(
                    key, shift_rules.shift_window(specs[chosen.shift_id], day)
                )
                opens, closes = window.opens.astimezone(UTC), window.closes.astimezone(UTC)
                inside = events[bisect_left(events, opens) : bisect_right(events, closes)]
                holiday = (shift.holiday_list_id, day) in holidays
                status = shift_rules.day_status(
                    day=day, shift=specs[chosen.shift_id], events=inside, now=now, on_leave=on_leave, holiday=holiday,
                    window=window,
                )  # fmt: skip
                shift_name = shift.name
            person_total.add(status)
            rows.append(PersonDayStatus(person_id, name, shift_name, status))
        totals.append(person_total)
    total = Totals(None, group_name or "total")
    for t in totals:
        total.merge(t)
    return Report(query, rows, totals, total, group_name, _group_totals(user, totals, memberships))


def _group_totals(user, totals: list[Totals], memberships: Mapping[int, list[int]]) -> list[Totals]:
    """The people's totals summed per group they belong to (a person in two groups counts in both); only the
    groups the user may see, by name."""
    names = dict(visible_groups(user).filter(pk__in={g for gs in memberships.values() for g in gs}).values_list(
        "pk", "name"))  # fmt: skip
    by_group = {pk: Totals(pk, name) for pk, name in names.items()}
    for t in totals:
        for group_id in memberships.get(t.person_id, ()):
            if group_id in by_group:
                by_group[group_id].merge(t)
    return sorted(by_group.values(), key=lambda g: g.name.lower())
