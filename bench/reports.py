"""How long a month's attendance report takes: 1,000 people x 31 days, statuses derived on read.

    python -m bench reports --people 1000 --rounds 5 --json OUT.json

In a database of its own (bench_database): `--people` people in groups of 100, a day shift (09:00-17:00
Europe/Berlin, Mon-Fri, with grace and half-day thresholds) assigned to the groups, a night shift for one group,
a holiday, and for each person and day of March 2026 a scripted mix (on time, late, early exit, half day,
absent) of two or three camera events. Each round builds the whole month's report as staff would ask for it
(attendance.reports.build: every person, every day, with totals), timed after one warm-up build; the figure is
the median seconds, with p95 and the 1-minute load average before and after. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.harness import bench_database, load1, machine, percentile, print_table, setup_django, write_json

BENCH_DB = "facesite_bench_reports"
BERLIN = ZoneInfo("Europe/Berlin")
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)


def populate(people: int, seed: int) -> object:
    """The people, groups, shifts and a month of events; returns a staff user to ask as."""
    from django.contrib.auth import get_user_model

    from attendance.models import (
        AttendanceEvent,
        AttendanceGroup,
        Holiday,
        HolidayList,
        ShiftAssignment,
        ShiftType,
    )
    from recognition.models import Person

    rng = random.Random(seed)
    holidays = HolidayList.objects.create(name="bench")
    Holiday.objects.create(holiday_list=holidays, day=date(2026, 3, 6))
    day_shift = ShiftType.objects.create(name="Day", start=time(9), end=time(17), time_zone="Europe/Berlin",
                                         late_grace_min=10, early_exit_grace_min=5, half_day_below_h=4,
                                         absent_below_h=1, holiday_list=holidays)  # fmt: skip
    night = ShiftType.objects.create(name="Night", start=time(22), end=time(6), time_zone="Europe/Berlin")
    persons = Person.objects.bulk_create(
        Person(display_name=f"Person {n:05d}", slug=f"bench-person-{n:05d}") for n in range(people)
    )
    for g in range(0, people, 100):
        group = AttendanceGroup.objects.create(name=f"Group {g // 100:03d}")
        group.members.add(*persons[g : g + 100])
        ShiftAssignment.objects.create(shift=night if g == 0 else day_shift, group=group, first_day=FIRST,
                                       weekdays=0b1111111 if g == 0 else 0b0011111)  # fmt: skip
    events = []
    day = FIRST
    while day <= LAST:
        for i, person in enumerate(persons):
            roll = rng.random()
            if roll < 0.08:
                continue  # absent
            start = datetime.combine(day, time(22 if i < 100 else 9), BERLIN)
            arrive = start + timedelta(minutes=rng.choice([-12, -5, 0, 3, 8, 25, 47]) if roll < 0.9 else 0)
            leave = (
                start + timedelta(hours=8, minutes=rng.randint(-20, 30)) if roll > 0.12 else arrive + timedelta(hours=3)
            )
            for at, kind in ((arrive, "check_in"), (arrive + timedelta(hours=4), "seen"), (leave, "check_out")):
                events.append(AttendanceEvent(person=person, at=at, day=at.date(), source="camera", kind=kind,
                                              score=0.8, margin=0.2))  # fmt: skip
        day += timedelta(days=1)
    AttendanceEvent.objects.bulk_create(events, batch_size=5000)
    staff = get_user_model().objects.create_user("bench-staff", is_staff=True)
    print(f"populated {people} people, {len(events)} events", file=sys.stderr)
    return staff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from attendance import reports

    with bench_database(BENCH_DB):
        staff = populate(args.people, args.seed)
        query = reports.ReportQuery(first=FIRST, last=LAST)
        now = datetime(2026, 4, 15, tzinfo=BERLIN)
        load_before = load1()
        with CaptureQueriesContext(connection) as queries:
            report = reports.build(staff, query, now=now)  # warm-up, and the count of queries
        seconds = []
        for _ in range(args.rounds):
            started = clock.perf_counter()
            reports.build(staff, query, now=now)
            seconds.append(clock.perf_counter() - started)
        load_after = load1()
    figures = {
        "setup": {**machine(), "people": args.people, "days": (LAST - FIRST).days + 1, "rounds": args.rounds},
        "reports": {
            "month_1000_people_s" if args.people == 1000 else f"month_{args.people}_people_s": round(
                statistics.median(seconds), 3
            ),
            "p95_s": round(percentile(seconds, 95), 3),
            "person_days": len(report.days),
            "queries": len(queries),
            "load1_before": load_before,
            "load1_after": load_after,
            "target_s": 2.0,
        },
    }
    print_table([{"figure": k, "value": v} for k, v in figures["reports"].items()],
                [("figure", "figure", ""), ("value", "value", "")])  # fmt: skip
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
