"""Reads of the attendance domain: who may see which events, filtered lists, daily summaries, CSV rows.

Everyone reads through `visible_events(user)`: operators and admins see every event, a member only the events
of the Person linked to their account, anyone else nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.roles import is_admin, is_operator
from attendance import rules
from attendance.models import AttendanceEvent, AttendanceGroup, Kind
from recognition.models import Person


class InvalidQuery(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class EventQuery:
    """Filters of an attendance list. `date_from`/`date_to` are local days (inclusive); `at_from`/`at_to`
    instants, used when the caller gives a full date-time instead of a date."""

    person_id: int | None = None
    source: str | None = None
    kind: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventQuery:
        """?person=<id>&source=camera&kind=check_in&from=2025-03-01&to=2025-03-31 (dates or date-times)."""
        errors: dict[str, str] = {}
        values: dict = {}
        person = (params.get("person") or "").strip()
        if person:
            if person.isdigit():
                values["person_id"] = int(person)
            else:
                errors["person"] = "a person's id (a whole number)"
        source = (params.get("source") or "").strip()
        if source:
            values["source"] = source
        kind = (params.get("kind") or "").strip()
        if kind:
            if kind in Kind.values:
                values["kind"] = kind
            else:
                errors["kind"] = f"one of {', '.join(Kind.values)}"
        for name in ("from", "to"):
            raw = (params.get(name) or "").strip()
            if not raw:
                continue
            try:
                parsed_date = parse_date(raw)
                parsed_at = None if parsed_date else parse_datetime(raw)
            except ValueError:
                parsed_date = parsed_at = None
            if parsed_date is not None:
                values[f"date_{name}"] = parsed_date
            elif parsed_at is not None:
                values[f"at_{name}"] = (
                    parsed_at if timezone.is_aware(parsed_at) else timezone.make_aware(parsed_at)
                )
            else:
                errors[name] = "a date (YYYY-MM-DD) or an ISO 8601 date-time"
        start, end = values.get("at_from") or values.get("date_from"), values.get("at_to") or values.get("date_to")
        if start is not None and end is not None and _reversed(start, end):
            errors["to"] = f"the range is reversed: {start:%Y-%m-%d} is after {end:%Y-%m-%d}"
        if errors:
            raise InvalidQuery(errors)
        return cls(**values)

    def as_params(self) -> dict[str, str]:
        """The query string that gives this query back (for links such as the CSV export)."""
        out = {"person": self.person_id, "source": self.source, "kind": self.kind,
               "from": self.at_from or self.date_from, "to": self.at_to or self.date_to}  # fmt: skip
        return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in out.items() if v}


def _reversed(start: date | datetime, end: date | datetime) -> bool:
    """A range that ends before it starts (a date and a date-time are compared as days)."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        return start > end
    day = lambda v: v.date() if isinstance(v, datetime) else v  # noqa: E731
    return day(start) > day(end)


def supervised_group_ids(user) -> list[int] | None:
    """The groups an operator is limited to, or None when they are not limited (staff always; an operator who
    supervises no group). Kept on the user object like the operator check: one page asks several times."""
    if is_admin(user):
        return None
    cached = getattr(user, "_supervised_groups_cache", None)
    if cached is None:
        cached = user._supervised_groups_cache = list(user.supervised_groups.values_list("pk", flat=True))
    return cached or None


def visible_people(user) -> QuerySet[Person]:
    """Who `user` may see and manage: staff everyone; an operator everyone, or only the members of the groups
    they supervise; a member only their own person; anyone else nobody."""
    people = Person.objects.filter(deleted_at__isnull=True)
    if user is None or not user.is_authenticated or not user.is_active:
        return people.none()
    if is_operator(user):
        groups = supervised_group_ids(user)
        return people if groups is None else people.filter(attendance_groups__in=groups).distinct()
    return people.filter(user=user)


def visible_events(user) -> QuerySet[AttendanceEvent]:
    events = AttendanceEvent.objects.select_related("person")
    if user is None or not user.is_authenticated or not user.is_active:
        return events.none()
    if is_operator(user):
        groups = supervised_group_ids(user)
        if groups is None:
            return events
        return events.filter(person__in=AttendanceGroup.members.through.objects.filter(
            attendancegroup_id__in=groups).values("person_id"))  # fmt: skip
    return events.filter(person__isnull=False, person__user=user)


def visible_groups(user) -> QuerySet[AttendanceGroup]:
    groups = AttendanceGroup.objects.all()
    if not is_operator(user):
        return groups.filter(members__user=user).distinct() if user and user.is_authenticated else groups.none()
    limited = supervised_group_ids(user)
    return groups if limited is None else groups.filter(pk__in=limited)


def events(user, query: EventQuery | None = None) -> QuerySet[AttendanceEvent]:
    """The events `user` may see that match `query`, newest first."""
    query = query or EventQuery()
    conditions = Q()
    if query.person_id is not None:
        conditions &= Q(person_id=query.person_id)
    if query.source:
        conditions &= Q(source=query.source)
    if query.kind:
        conditions &= Q(kind=query.kind)
    if query.date_from:
        conditions &= Q(day__gte=query.date_from)
    if query.date_to:
        conditions &= Q(day__lte=query.date_to)
    if query.at_from:
        conditions &= Q(at__gte=query.at_from)
    if query.at_to:
        conditions &= Q(at__lte=query.at_to)
    return visible_events(user).filter(conditions).order_by("-at", "-pk")


# --- daily summaries ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonDay:
    person_id: int
    person: str
    day: date
    summary: rules.DaySummary

    @property
    def present(self) -> str:
        """Time present as H:MM."""
        minutes = int(self.summary.present_s // 60)
        return f"{minutes // 60}:{minutes % 60:02d}"

    def as_dict(self) -> dict:
        s = self.summary
        return {
            "person": self.person_id, "person_name": self.person, "day": self.day,
            "first_in": s.first_in, "last_out": s.last_out, "present_s": round(s.present_s),
            "events": s.events, "checked_out": s.checked_out,
        }  # fmt: skip


def summary_keys(event_qs: QuerySet[AttendanceEvent]) -> QuerySet:
    """One row {person_id, day} per person and local day among these events, newest first (paginate it)."""
    return (
        event_qs.filter(person__isnull=False)
        .order_by()
        .values("person_id", "day")
        .distinct()
        .order_by("-day", "person_id")
    )


def daily_summaries(user, keys: Iterable[Mapping]) -> list[PersonDay]:
    """Summaries of the given (person, day) keys, from ALL the events of that person and day that `user` may
    see (a kind or source filter chooses the days, it does not cut the day's figures)."""
    keys = [(k["person_id"], k["day"]) for k in keys]
    if not keys:
        return []
    wanted = Q()
    for person_id, day in keys:
        wanted |= Q(person_id=person_id, day=day)
    grouped: dict[tuple[int, date], list[rules.Sighting]] = defaultdict(list)
    names: dict[int, str] = {}
    for e in visible_events(user).filter(wanted).order_by("at"):
        grouped[(e.person_id, e.day)].append(rules.Sighting(at=e.at, source=e.source, kind=e.kind))
        names[e.person_id] = e.person.display_name
    return [
        PersonDay(person_id=p, person=names[p], day=d, summary=rules.summarise_day(grouped[(p, d)]))
        for p, d in keys
        if (p, d) in grouped
    ]


# --- CSV ----------------------------------------------------------------------------------------------------
CSV_HEADER = ["id", "date", "local_time", "at_utc", "person_id", "person", "source", "kind", "score",
              "margin", "emotion", "stream"]  # fmt: skip


def spreadsheet_safe(value: str) -> str:
    # A name like "=HYPERLINK(...)" must not become a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


_cell = spreadsheet_safe


def csv_rows(event_qs: QuerySet[AttendanceEvent]) -> Iterator[list]:
    yield CSV_HEADER
    for e in event_qs.iterator(chunk_size=2000):
        local = timezone.localtime(e.at)
        who = e.person.display_name if e.person_id else e.anonymous_key
        yield [e.pk, e.day.isoformat(), local.strftime("%H:%M:%S"), e.at.astimezone(UTC).isoformat(),
               e.person_id or "", _cell(who), e.source, e.kind, f"{e.score:.4f}", f"{e.margin:.4f}",
               _cell(e.emotion), _cell(e.stream)]  # fmt: skip
