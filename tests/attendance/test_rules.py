"""The attendance rules on scripted sequences of sightings (pure: no database)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from attendance import rules
from attendance.rules import (
    CHECK_IN,
    CHECK_OUT,
    SEEN,
    RuleConfig,
    Sighting,
    decide_kind,
    local_day,
    summarise_day,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
CONFIG = RuleConfig(cooldown_s=300, checkout_gap_s=3600, exit_sources=frozenset({"exit"}))


def at(hour: int, minute: int = 0, second: int = 0, day: int = 10) -> datetime:
    return datetime(2025, 6, day, hour, minute, second, tzinfo=UTC)


def play(script: list[tuple[datetime, str]], config: RuleConfig = CONFIG) -> list[str | None]:
    """Feed sightings one by one, keeping the recorded ones (per local day, as the service does)."""
    recorded: list[Sighting] = []
    kinds = []
    for when, source in script:
        today = [e for e in recorded if local_day(e.at, UTC) == local_day(when, UTC)]
        kind = decide_kind(at=when, source=source, earlier_today=today, config=config)
        kinds.append(kind)
        if kind is not None:
            recorded.append(Sighting(when, source, kind))
    return kinds


def test_cooldown_is_per_source() -> None:
    kinds = play([
        (at(9, 0), "camera"),  # first of the day
        (at(9, 2), "camera"),  # same visit at the camera: nothing
        (at(9, 3), "kiosk"),  # another source has its own cooldown
        (at(9, 5), "kiosk"),  # kiosk cooldown
        (at(9, 4, 59), "camera"),  # 299 s after 09:00: still inside
        (at(9, 5, 0), "camera"),  # exactly 300 s: a new event
    ])  # fmt: skip
    assert kinds == [CHECK_IN, None, SEEN, None, None, SEEN]


def test_cooldown_counts_from_the_last_recorded_event_not_the_last_sighting() -> None:
    kinds = play([(at(9, 0), "camera"), (at(9, 4), "camera"), (at(9, 8), "camera"), (at(9, 10), "camera")])
    # 09:04 is swallowed, so 09:08 is measured from 09:00 (8 min) and recorded; 09:10 is 2 min after it
    assert kinds == [CHECK_IN, None, SEEN, None]


def test_exit_source_checks_out_and_the_next_entry_checks_in_again() -> None:
    kinds = play([
        (at(9, 0), "camera"),
        (at(12, 0), "exit"),
        (at(12, 2), "exit"),  # exit cooldown
        (at(13, 0), "camera"),  # back in after leaving through the exit
        (at(13, 20), "kiosk"),
    ])  # fmt: skip
    assert kinds == [CHECK_IN, CHECK_OUT, None, CHECK_IN, SEEN]


def test_sighting_after_the_gap_is_a_check_out_and_later_ones_move_the_check_out() -> None:
    kinds = play([
        (at(9, 0), "camera"),
        (at(9, 59, 59), "camera"),  # 1 s short of the gap
        (at(10, 0), "kiosk"),  # exactly the gap after the check-in
        (at(16, 0), "camera"),
    ])  # fmt: skip
    assert kinds == [CHECK_IN, SEEN, CHECK_OUT, CHECK_OUT]


def test_first_sighting_of_a_new_day_is_a_check_in_even_inside_the_cooldown() -> None:
    kinds = play([(at(23, 58, day=10), "camera"), (at(0, 1, day=11), "camera"), (at(0, 3, day=11), "camera")])
    assert kinds == [CHECK_IN, CHECK_IN, None]


def test_first_sighting_at_an_exit_is_a_check_out() -> None:
    assert play([(at(6, 0), "exit"), (at(8, 0), "camera")]) == [CHECK_OUT, CHECK_IN]


def test_a_late_report_ignores_events_after_it() -> None:
    later = [Sighting(at(10, 0), "camera", CHECK_IN)]
    assert decide_kind(at=at(9, 0), source="camera", earlier_today=later, config=CONFIG) == CHECK_IN


def test_local_day_uses_the_zone_and_refuses_naive_times() -> None:
    late_evening_utc = datetime(2025, 1, 15, 23, 30, tzinfo=UTC)
    assert local_day(late_evening_utc, UTC).isoformat() == "2025-01-15"
    assert local_day(late_evening_utc, BERLIN).isoformat() == "2025-01-16"  # 00:30 in Berlin
    assert local_day(datetime(2025, 1, 15, 22, 59, tzinfo=UTC), BERLIN).isoformat() == "2025-01-15"
    with pytest.raises(ValueError):
        local_day(datetime(2025, 1, 15, 12, 0), UTC)


def test_cooldown_and_gap_are_elapsed_time_across_a_dst_change() -> None:
    """Europe/Berlin jumps from 02:00 to 03:00 on 2025-03-30: wall clocks say 63 minutes, 3 really passed."""
    before = datetime(2025, 3, 30, 1, 58, tzinfo=BERLIN)
    after = datetime(2025, 3, 30, 3, 1, tzinfo=BERLIN)
    assert (after - before).total_seconds() == 63 * 60  # Python's same-zone arithmetic is wall-clock
    for zone in (BERLIN, UTC):
        recorded = [Sighting(before.astimezone(zone), "camera", CHECK_IN)]
        kind = decide_kind(at=after.astimezone(zone), source="camera", earlier_today=recorded, config=CONFIG)
        assert kind is None
        # 01:30 CET -> 03:20 CEST is 50 minutes: not yet the one-hour gap, whatever the wall clock says
        check_in = datetime(2025, 3, 30, 1, 30, tzinfo=BERLIN).astimezone(zone)
        later = datetime(2025, 3, 30, 3, 20, tzinfo=BERLIN).astimezone(zone)
        recorded = [Sighting(check_in, "camera", CHECK_IN)]
        assert decide_kind(at=later, source="kiosk", earlier_today=recorded, config=CONFIG) == SEEN


def test_summary_of_a_day_with_a_lunch_break() -> None:
    day = [
        Sighting(at(9, 0), "camera", CHECK_IN),
        Sighting(at(9, 20), "kiosk", SEEN),
        Sighting(at(12, 0), "exit", CHECK_OUT),
        Sighting(at(13, 0), "camera", CHECK_IN),
        Sighting(at(16, 0), "camera", CHECK_OUT),
        Sighting(at(17, 30), "kiosk", CHECK_OUT),  # a later check-out moves the end of the visit
    ]
    summary = summarise_day(reversed(day))  # order of the input does not matter
    assert summary.first_in == at(9, 0)
    assert summary.last_out == at(17, 30)
    assert summary.present_s == 3 * 3600 + 4.5 * 3600
    assert summary.events == 6
    assert summary.checked_out is True


def test_summary_of_an_open_day_and_of_a_day_with_only_a_check_out() -> None:
    still_in = summarise_day([Sighting(at(9, 0), "camera", CHECK_IN), Sighting(at(9, 30), "kiosk", SEEN)])
    assert (still_in.first_in, still_in.last_out, still_in.present_s, still_in.checked_out) == (
        at(9, 0), None, 0.0, False,
    )  # fmt: skip
    leaving = summarise_day([Sighting(at(6, 0), "exit", CHECK_OUT)])
    assert (leaving.first_in, leaving.last_out, leaving.present_s) == (None, at(6, 0), 0.0)
    assert summarise_day([]) == rules.DaySummary(None, None, 0.0, 0, False)


def test_summary_over_a_dst_day_counts_real_seconds() -> None:
    check_in = datetime(2025, 10, 26, 1, 0, tzinfo=BERLIN)  # before clocks go back at 03:00 CEST -> 02:00 CET
    check_out = datetime(2025, 10, 26, 5, 0, tzinfo=BERLIN)
    for zone in (BERLIN, UTC):
        summary = summarise_day([
            Sighting(check_in.astimezone(zone), "camera", CHECK_IN),
            Sighting(check_out.astimezone(zone), "exit", CHECK_OUT),
        ])  # fmt: skip
        assert summary.present_s == 5 * 3600  # four hours on the wall clock, five in reality
