"""Groups limit operators; reports derive statuses from events, shifts, holidays, leave and corrections."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attendance import reports, selectors, services
from attendance.models import (
    AttendanceEvent,
    AttendanceGroup,
    Correction,
    Holiday,
    HolidayList,
    ShiftAssignment,
    ShiftType,
)
from attendance.selectors import InvalidQuery
from attendance.shift_rules import Status
from audit.models import AuditEntry
from tests.attendance.factories import make_person, make_user

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 4, 15, tzinfo=BERLIN)
MARCH = reports.ReportQuery(first=date(2026, 3, 1), last=date(2026, 3, 31))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def event(person, at: datetime, kind: str = "seen") -> AttendanceEvent:
    return AttendanceEvent.objects.create(person=person, at=at, day=at.date(), source="camera", kind=kind,
                                          score=0.8, margin=0.2)  # fmt: skip


@pytest.fixture
def office(people):
    """Alice and Bob in "Office" (day shift 09-17 Berlin, Mon-Fri, 10 min grace), Carol in "Night" (22-06)."""
    holidays = HolidayList.objects.create(name="Berlin")
    Holiday.objects.create(holiday_list=holidays, day=date(2026, 3, 6), description="a holiday")
    day_shift = ShiftType.objects.create(name="Day", start=time(9), end=time(17), time_zone="Europe/Berlin",
                                         late_grace_min=10, half_day_below_h=4, holiday_list=holidays)  # fmt: skip
    night = ShiftType.objects.create(name="Night", start=time(22), end=time(6), time_zone="Europe/Berlin")
    office = AttendanceGroup.objects.create(name="Office", kind="department")
    office.members.add(people["alice"], people["bob"])
    nights = AttendanceGroup.objects.create(name="Nights")
    nights.members.add(people["carol"])
    ShiftAssignment.objects.create(shift=day_shift, group=office, first_day=date(2026, 3, 1))
    ShiftAssignment.objects.create(shift=night, group=nights, first_day=date(2026, 3, 1), weekdays=0b1111111)
    supervisor = make_user("sue", operator=True)
    office.supervisors.add(supervisor)
    return {**people, "office": office, "nights": nights, "supervisor": supervisor, "day": day_shift}


def statuses(report, person) -> dict[date, object]:
    return {r.day: r.status for r in report.days if r.person_id == person.pk}


def test_an_operator_who_supervises_a_group_sees_only_its_members(office):
    event(office["carol"], berlin(2026, 3, 2, 22))
    event(office["alice"], berlin(2026, 3, 2, 9))
    sue = office["supervisor"]
    assert set(selectors.visible_people(sue)) == {office["alice"], office["bob"]}
    assert {e.person for e in selectors.visible_events(sue)} == {office["alice"]}
    assert list(selectors.visible_groups(sue)) == [office["office"]]
    # an operator without a group and staff still see everyone; a member only themself
    assert selectors.visible_events(office["operator"]).count() == 2
    assert selectors.visible_people(office["staff"]).count() == 3
    assert list(selectors.visible_people(office["alice_user"])) == [office["alice"]]


def test_month_report_derives_statuses(office):
    alice, bob, carol = office["alice"], office["bob"], office["carol"]
    event(alice, berlin(2026, 3, 2, 8, 55)), event(alice, berlin(2026, 3, 2, 17, 5))  # on time
    event(alice, berlin(2026, 3, 3, 9, 40)), event(alice, berlin(2026, 3, 3, 17))  # 40 min late
    event(alice, berlin(2026, 3, 4, 9)), event(alice, berlin(2026, 3, 4, 11))  # two hours: half day
    event(carol, berlin(2026, 3, 28, 21, 50)), event(carol, berlin(2026, 3, 29, 6, 5))  # spring-forward night
    report = reports.build(office["staff"], MARCH, now=NOW)
    a = statuses(report, alice)
    assert a[date(2026, 3, 2)].status is Status.PRESENT
    assert (a[date(2026, 3, 3)].status, a[date(2026, 3, 3)].late_min) == (Status.LATE, 40)
    assert a[date(2026, 3, 4)].status is Status.HALF_DAY
    assert a[date(2026, 3, 5)].status is Status.ABSENT
    assert a[date(2026, 3, 6)].status is Status.HOLIDAY
    assert a[date(2026, 3, 7)].status is Status.NO_SCHEDULE  # Saturday
    c = statuses(report, carol)[date(2026, 3, 28)]
    assert c.status is Status.PRESENT and c.worked_s == (7 * 60 + 15) * 60  # 21:50 CET to 06:05 CEST
    alice_total = next(t for t in report.people if t.person_id == alice.pk)
    assert (alice_total.late_days, alice_total.late_min, alice_total.half_days) == (1, 40, 1)
    assert alice_total.absent_days == 21 - 3  # 22 weekdays in March 2026, one a holiday, three attended
    bob_total = next(t for t in report.people if t.person_id == bob.pk)
    assert bob_total.absent_days == 21 and bob_total.worked_s == 0
    groups = {g.name: g for g in report.groups}
    assert groups["Office"].late_min == 40 and groups["Office"].absent_days == 18 + 21
    assert groups["Nights"].present_days == 1


def test_group_report_and_limits(office):
    report = reports.build(office["staff"], reports.ReportQuery(MARCH.first, MARCH.last, group_id=office["office"].pk),
                           now=NOW)  # fmt: skip
    assert report.group == "Office" and [t.name for t in report.people] == ["Alice Archer", "Bob Baker"]
    assert report.total.absent_days == sum(t.absent_days for t in report.people)
    # the supervisor of Office asking for Nights gets nothing, not an error
    nights = reports.ReportQuery(MARCH.first, MARCH.last, group_id=office["nights"].pk)
    assert reports.build(office["supervisor"], nights, now=NOW).people == []
    # a member gets their own row only
    mine = reports.build(office["bob_user"], MARCH, now=NOW)
    assert [t.person_id for t in mine.people] == [office["bob"].pk]


def test_the_report_is_a_few_queries_whatever_the_size(office):
    for n in range(20):
        p = make_person(f"Extra {n:02d}")
        office["office"].members.add(p)
        event(p, berlin(2026, 3, 2, 9)), event(p, berlin(2026, 3, 2, 17))
    with CaptureQueriesContext(connection) as queries:
        report = reports.build(office["staff"], MARCH, now=NOW)
    assert len(report.people) == 23
    assert len(queries) <= 10


def test_late_events_and_schedule_changes_show_up_on_the_next_read(office):
    alice = office["alice"]
    day = reports.ReportQuery(date(2026, 3, 2), date(2026, 3, 2), person_id=alice.pk)
    assert reports.build(office["staff"], day, now=NOW).days[0].status.status is Status.ABSENT
    event(alice, berlin(2026, 3, 2, 9, 30)), event(alice, berlin(2026, 3, 2, 17))  # a camera catching up
    assert reports.build(office["staff"], day, now=NOW).days[0].status.late_min == 30
    later = ShiftType.objects.create(name="Late", start=time(10), end=time(18), time_zone="Europe/Berlin")
    ShiftAssignment.objects.create(shift=later, person=alice, first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    row = reports.build(office["staff"], day, now=NOW).days[0]
    assert row.shift == "Late" and row.status.status is Status.EARLY_EXIT and row.status.late_min == 0


def test_leave_entered_by_the_supervisor_and_refused_for_another_group(office):
    sue = office["supervisor"]
    services.enter_leave(sue, person_id=office["bob"].pk, first_day=date(2026, 3, 9), last_day=date(2026, 3, 10),
                         reason="sick")  # fmt: skip
    report = reports.build(sue, MARCH, now=NOW)
    assert statuses(report, office["bob"])[date(2026, 3, 9)].status is Status.ON_LEAVE
    with pytest.raises(services.NotYours):
        services.enter_leave(sue, person_id=office["carol"].pk, first_day=date(2026, 3, 9),
                             last_day=date(2026, 3, 9), reason="x")  # fmt: skip
    with pytest.raises(services.NotYours):
        services.enter_leave(office["alice_user"], person_id=office["alice"].pk, first_day=date(2026, 3, 9),
                             last_day=date(2026, 3, 9), reason="x")  # fmt: skip
    assert AuditEntry.objects.filter(action=services.LEAVE_ACTION).count() == 1


def test_corrections_are_applied_on_read_and_the_original_stays(office):
    alice, sue = office["alice"], office["supervisor"]
    wrong = event(alice, berlin(2026, 3, 2, 7, 30))  # someone else's face, before check-in opens anyway
    early = event(alice, berlin(2026, 3, 2, 8, 58))
    q = reports.ReportQuery(date(2026, 3, 2), date(2026, 3, 2), person_id=alice.pk)
    assert reports.build(sue, q, now=NOW).days[0].status.missing_check_out
    services.correct(sue, person_id=alice.pk, kind=Correction.Kind.ADD, at=berlin(2026, 3, 2, 17, 1),
                     event_kind="check_out", reason="forgot to check out")  # fmt: skip
    fixed = reports.build(sue, q, now=NOW).days[0].status
    assert fixed.status is Status.PRESENT and not fixed.missing_check_out
    services.correct(sue, person_id=alice.pk, kind=Correction.Kind.VOID, event_id=early.pk, reason="not her")
    assert reports.build(sue, q, now=NOW).days[0].status.missing_check_out  # only the added check-out is left
    assert AttendanceEvent.objects.filter(pk__in=[wrong.pk, early.pk]).count() == 2
    assert AuditEntry.objects.filter(action=services.CORRECTION_ACTION).count() == 2


def test_a_member_requests_and_the_supervisor_decides(office):
    alice, sue = office["alice"], office["supervisor"]
    event(alice, berlin(2026, 3, 2, 9))
    asked = services.request_correction(office["alice_user"], kind="add", at=berlin(2026, 3, 2, 17),
                                        event_kind="check_out", reason="the exit camera was off")  # fmt: skip
    q = reports.ReportQuery(date(2026, 3, 2), date(2026, 3, 2), person_id=alice.pk)
    assert reports.build(sue, q, now=NOW).days[0].status.missing_check_out  # not applied while requested
    with pytest.raises(services.NotYours):
        services.decide_correction(office["alice_user"], asked.pk, approve=True)
    services.decide_correction(sue, asked.pk, approve=True)
    assert reports.build(sue, q, now=NOW).days[0].status.worked_s == 8 * 3600
    with pytest.raises(services.Refused) as refused:
        services.decide_correction(sue, asked.pk, approve=False)
    assert refused.value.code is services.Refusal.ALREADY_DECIDED
    with pytest.raises(services.Refused) as refused:
        services.correct(sue, person_id=alice.pk, kind="add", at=berlin(2026, 3, 2, 17), event_kind="check_out",
                         reason=" ")  # fmt: skip
    assert refused.value.code is services.Refusal.NO_REASON


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"period": "week", "day": "2026-03-04"}, (date(2026, 3, 2), date(2026, 3, 8))),
        ({"period": "month", "day": "2026-02-10"}, (date(2026, 2, 1), date(2026, 2, 28))),
        ({"period": "day", "day": "2026-02-10"}, (date(2026, 2, 10), date(2026, 2, 10))),
        ({"from": "2026-01-30", "to": "2026-02-02"}, (date(2026, 1, 30), date(2026, 2, 2))),
        ({}, (date(2026, 4, 1), date(2026, 4, 30))),
    ],
)
def test_report_query_periods(params, expected):
    q = reports.ReportQuery.from_params(params, today=date(2026, 4, 15))
    assert (q.first, q.last) == expected


def test_a_reversed_range_says_so():
    with pytest.raises(InvalidQuery) as caught:
        reports.ReportQuery.from_params({"from": "2026-03-10", "to": "2026-03-01"}, today=date(2026, 4, 15))
    assert "reversed" in caught.value.errors["to"]
