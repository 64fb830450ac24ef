"""Shift rules on scripted days (pure: no database), including night shifts and Europe/Berlin DST changes."""

from __future__ import annotations

import ast
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from attendance import shift_rules
from attendance.shift_rules import AssignmentSpec, ShiftSpec, Status, day_status, pick_assignment, shift_window

BERLIN = ZoneInfo("Europe/Berlin")
DAY = ShiftSpec(start=time(9), end=time(17), zone="Europe/Berlin", check_in_before_min=60,
                check_out_after_min=120, late_grace_min=10, early_exit_grace_min=5, half_day_below_h=4,
                absent_below_h=2)  # fmt: skip
NIGHT = ShiftSpec(start=time(22), end=time(6), zone="Europe/Berlin", check_in_before_min=30,
                  check_out_after_min=60)  # fmt: skip


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=BERLIN)


MONDAY = date(2026, 3, 2)
LATER = datetime(2027, 1, 1, tzinfo=BERLIN)


def status(events, *, shift=DAY, day=MONDAY, now=LATER, **kw):
    return day_status(day=day, shift=shift, events=events, now=now, **kw)


def test_the_rules_module_imports_nothing_of_django():
    tree = ast.parse(Path(shift_rules.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {n for n in names if n.split(".")[0] in ("django", "attendance", "recognition", "accounts")}


def test_on_time_within_grace_is_present_with_hours():
    s = status([at(MONDAY, 9, 9), at(MONDAY, 12), at(MONDAY, 17, 2)])
    assert s.status is Status.PRESENT
    assert (s.late_min, s.early_exit_min) == (0, 0)
    assert s.worked_s == pytest.approx(7 * 3600 + 53 * 60)
    assert s.overtime_s == 0


def test_late_beyond_grace_counts_minutes_from_the_start():
    s = status([at(MONDAY, 9, 25), at(MONDAY, 17, 30)])
    assert s.status is Status.LATE and s.late_min == 25
    assert s.overtime_s == pytest.approx(5 * 60)  # 8h05 worked on an 8h shift


def test_early_exit_beyond_grace():
    s = status([at(MONDAY, 8, 55), at(MONDAY, 16, 30)])
    assert s.status is Status.EARLY_EXIT and s.early_exit_min == 30


def test_half_day_and_absent_thresholds_apply_once_the_window_closes():
    assert status([at(MONDAY, 9), at(MONDAY, 12)]).status is Status.HALF_DAY
    assert status([at(MONDAY, 9), at(MONDAY, 10)]).status is Status.ABSENT
    # the same three hours while the shift is still on: not judged yet
    assert status([at(MONDAY, 9), at(MONDAY, 12)], now=at(MONDAY, 12, 5)).status is Status.PRESENT


def test_a_single_event_is_present_with_a_missing_check_out_not_absent():
    s = status([at(MONDAY, 9)])
    assert s.status is Status.PRESENT and s.missing_check_out and s.worked_s == 0


def test_no_events_is_absent_after_the_grace_and_upcoming_before():
    assert status([]).status is Status.ABSENT
    assert status([], now=at(MONDAY, 9, 5)).status is Status.UPCOMING
    assert status([], now=at(MONDAY, 9, 11)).status is Status.ABSENT


def test_events_outside_the_window_do_not_count():
    # 07:30 is before check-in opens (08:00); 19:30 after check-out closes (19:00)
    assert status([at(MONDAY, 7, 30), at(MONDAY, 19, 30)]).status is Status.ABSENT


def test_holiday_and_leave_win_over_events():
    assert status([], holiday=True).status is Status.HOLIDAY
    assert status([], on_leave=True).status is Status.ON_LEAVE
    worked = status([at(MONDAY, 9), at(MONDAY, 13)], holiday=True)
    assert worked.status is Status.HOLIDAY and worked.overtime_s == pytest.approx(4 * 3600)


def test_no_schedule_still_counts_hours():
    s = status([at(MONDAY, 10), at(MONDAY, 11, 30)], shift=None)
    assert s.status is Status.NO_SCHEDULE and s.worked_s == pytest.approx(5400)


def test_night_shift_crosses_midnight_as_one_shift():
    tue = MONDAY + timedelta(days=1)
    s = status([at(MONDAY, 21, 45), at(tue, 0, 30), at(tue, 6, 10)], shift=NIGHT)
    assert s.status is Status.PRESENT
    assert s.worked_s == pytest.approx(8 * 3600 + 25 * 60)
    # Tuesday's shift does not take Monday night's events
    assert status([at(MONDAY, 21, 45), at(tue, 6, 10)], shift=NIGHT, day=tue).status is Status.ABSENT


def test_night_shift_over_the_spring_forward_is_seven_real_hours():
    saturday = date(2026, 3, 28)  # Berlin springs forward on Sunday 29 March 2026, 02:00 -> 03:00
    window = shift_window(NIGHT, saturday)
    assert window.scheduled_s == 7 * 3600
    s = status([at(saturday, 22), at(saturday + timedelta(days=1), 6)], shift=NIGHT, day=saturday)
    assert s.worked_s == 7 * 3600 and s.overtime_s == 0 and s.status is Status.PRESENT


def test_night_shift_over_the_fall_back_is_nine_real_hours():
    saturday = date(2026, 10, 24)  # Berlin falls back on Sunday 25 October 2026, 03:00 -> 02:00
    assert shift_window(NIGHT, saturday).scheduled_s == 9 * 3600
    s = status([at(saturday, 22), at(saturday + timedelta(days=1), 6)], shift=NIGHT, day=saturday)
    assert s.worked_s == 9 * 3600 and s.overtime_s == 0


def test_late_minutes_are_real_minutes_across_the_dst_change():
    shift = ShiftSpec(start=time(1, 30), end=time(9), zone="Europe/Berlin", late_grace_min=0)
    sunday = date(2026, 3, 29)
    # 01:30 CET is 00:30 UTC; 03:10 CEST is 01:10 UTC: 40 real minutes late, not 100
    s = status([datetime(2026, 3, 29, 1, 10, tzinfo=ZoneInfo("UTC")), at(sunday, 9)], shift=shift, day=sunday)
    assert s.late_min == 40


def test_a_start_inside_the_skipped_hour_lands_after_it():
    shift = ShiftSpec(start=time(2, 30), end=time(10), zone="Europe/Berlin")
    window = shift_window(shift, date(2026, 3, 29))
    assert window.start.utcoffset() == timedelta(hours=2) and window.start.hour == 3


def test_same_shift_in_another_zone_is_another_instant():
    tokyo = ShiftSpec(start=time(9), end=time(17), zone="Asia/Tokyo")
    assert shift_window(tokyo, MONDAY).start == shift_window(DAY, MONDAY).start - timedelta(hours=8)


def test_pick_assignment_direct_beats_group_and_newest_wins():
    weekdays = frozenset(range(5))
    group_old = AssignmentSpec(1, date(2026, 1, 1), None, weekdays, direct=False)
    group_new = AssignmentSpec(2, date(2026, 3, 1), date(2026, 3, 31), weekdays, direct=False)
    direct = AssignmentSpec(3, date(2026, 3, 2), date(2026, 3, 2), frozenset({0}), direct=True)
    assert pick_assignment([group_old, group_new, direct], MONDAY).shift_id == 3
    assert pick_assignment([group_old, group_new, direct], MONDAY + timedelta(days=1)).shift_id == 2
    assert pick_assignment([group_old, group_new], date(2026, 4, 1)).shift_id == 1
    assert pick_assignment([group_old], date(2026, 3, 7)) is None  # a Saturday
    assert pick_assignment([group_old], date(2025, 12, 31)) is None
