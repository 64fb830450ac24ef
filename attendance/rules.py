"""Attendance rules, pure: which kind of event a sighting becomes, and what a person's day adds up to.

No ORM and no settings here: the service passes the person's earlier events of the same local day and a
RuleConfig, so the rules are tested on scripted sequences alone.

- Cooldown: a sighting at the same source within `cooldown_s` of the person's previous event there is no new
  event (one visit, one event). The first sighting of a local day is never swallowed by the cooldown.
- A sighting at an exit source is a check-out.
- The first sighting of a local day is a check-in; so is the first sighting after leaving through an exit.
- A sighting `checkout_gap_s` or more after the latest check-in is a check-out; anything else is "seen".
Cooldown and gap are elapsed seconds between aware datetimes, so a DST change never stretches or shrinks them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

CHECK_IN = "check_in"
CHECK_OUT = "check_out"
SEEN = "seen"
KINDS = (CHECK_IN, CHECK_OUT, SEEN)


@dataclass(frozen=True)
class RuleConfig:
    cooldown_s: float
    checkout_gap_s: float
    exit_sources: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Sighting:
    """An event already recorded (or being recorded) for one person."""

    at: datetime
    source: str
    kind: str


@dataclass(frozen=True)
class DaySummary:
    first_in: datetime | None
    last_out: datetime | None
    present_s: float  # sum of check-in -> last check-out intervals
    events: int
    checked_out: bool  # the day's latest event is a check-out


def _elapsed_s(start: datetime, end: datetime) -> float:
    # In UTC first: Python subtracts two datetimes of one zone by wall clock, which a DST change skews.
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def local_day(at: datetime, zone: tzinfo) -> date:
    """The calendar day of an aware datetime in the site's time zone."""
    if at.tzinfo is None:
        raise ValueError("attendance times must be timezone-aware")
    return at.astimezone(zone).date()


def decide_kind(
    *, at: datetime, source: str, earlier_today: Iterable[Sighting], config: RuleConfig
) -> str | None:
    """The kind of event this sighting becomes, or None when it falls inside the source's cooldown.

    `earlier_today`: the person's events of the same local day (any source, any order); events after `at`
    (a late report) are ignored.
    """
    prior = sorted((e for e in earlier_today if e.at <= at), key=lambda e: e.at)
    same_source = [e for e in prior if e.source == source]
    if same_source and _elapsed_s(same_source[-1].at, at) < config.cooldown_s:
        return None
    if source in config.exit_sources:
        return CHECK_OUT
    if not prior:
        return CHECK_IN
    last = prior[-1]
    if last.kind == CHECK_OUT and last.source in config.exit_sources:
        return CHECK_IN  # back in after leaving through an exit
    check_ins = [e.at for e in prior if e.kind == CHECK_IN]
    anchor = check_ins[-1] if check_ins else prior[0].at
    if _elapsed_s(anchor, at) >= config.checkout_gap_s:
        return CHECK_OUT
    return SEEN


def summarise_day(events: Iterable[Sighting]) -> DaySummary:
    """First check-in, last check-out and time present of one person's day.

    Time present pairs each check-in with the last check-out before the next check-in (repeated check-outs
    only move the end of a visit), so in 09:00, out 12:00 at an exit, in 13:00, out 17:00 is 7 hours.
    A check-out with no check-in before it (leaving after midnight) counts for last_out but adds no time.
    """
    ordered = sorted(events, key=lambda e: e.at)
    total = 0.0
    opened: datetime | None = None
    closed: datetime | None = None
    for event in ordered:
        if event.kind == CHECK_IN:
            if opened is None:
                opened = event.at
            elif closed is not None:
                total += _elapsed_s(opened, closed)
                opened, closed = event.at, None
        elif event.kind == CHECK_OUT and opened is not None:
            closed = event.at
    if opened is not None and closed is not None:
        total += _elapsed_s(opened, closed)
    first_in = next((e.at for e in ordered if e.kind == CHECK_IN), None)
    last_out = next((e.at for e in reversed(ordered) if e.kind == CHECK_OUT), None)
    return DaySummary(
        first_in=first_in,
        last_out=last_out,
        present_s=total,
        events=len(ordered),
        checked_out=bool(ordered) and ordered[-1].kind == CHECK_OUT,
    )
