"""The report page, its CSV and XLSX downloads, the report API and the corrections page."""

from __future__ import annotations

import csv
import io
from datetime import date, time, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from attendance.models import AttendanceGroup, Correction, Leave, ShiftAssignment, ShiftType
from audit.models import Action, AuditEntry
from tests.attendance.test_reports import berlin, event
from tests.support.users import session_client

MARCH = {"period": "month", "day": "2026-03-10"}


@pytest.fixture
def setup(people):
    shift = ShiftType.objects.create(name="Day", start=time(9), end=time(17), time_zone="Europe/Berlin",
                                     late_grace_min=5)  # fmt: skip
    team = AttendanceGroup.objects.create(name="Team")
    team.members.add(people["alice"], people["bob"])
    ShiftAssignment.objects.create(shift=shift, group=team, first_day=date(2026, 3, 1), last_day=date(2026, 3, 31))
    event(people["alice"], berlin(2026, 3, 2, 9, 20)), event(people["alice"], berlin(2026, 3, 2, 17, 30))
    event(people["bob"], berlin(2026, 3, 2, 8, 50)), event(people["bob"], berlin(2026, 3, 2, 17))
    supervisor = people["operator"]
    team.supervisors.add(supervisor)
    return {**people, "team": team}


def test_report_page_shows_statuses_and_limits_a_supervisor(setup):
    page = session_client(setup["operator"]).get("/attendance/reports/", MARCH)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Alice Archer" in html and "Bob Baker" in html and "Carol Cole" not in html  # Carol is in no group
    assert f'class="status-late" data-person="{setup["alice"].pk}" data-day="2026-03-02"' in html
    staff = session_client(setup["staff"]).get("/attendance/reports/", MARCH).content.decode()
    assert "Carol Cole" in staff


def test_a_reversed_range_says_so_on_the_page(setup):
    page = session_client(setup["staff"]).get("/attendance/reports/", {"from": "2026-03-10", "to": "2026-03-01"})
    assert page.status_code == 400
    assert "reversed" in page.content.decode()


def test_xlsx_download_has_the_figures_and_is_audited(setup):
    response = session_client(setup["staff"]).get("/attendance/reports.xlsx", {**MARCH, "group": setup["team"].pk})
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    book = load_workbook(io.BytesIO(response.content))
    totals = list(book["Totals"].values)
    assert totals[0][:6] == ("person_id", "person", "scheduled_days", "present_days", "late_days", "late_min")
    alice = next(r for r in totals if r[1] == "Alice Archer")
    assert (alice[2], alice[3], alice[4], alice[5], alice[9]) == (22, 1, 1, 20, 21)  # 22 weekdays, 21 absent
    assert totals[-1][1] == "Team" and totals[-1][9] == 42
    days = list(book["Days"].values)
    assert ("2026-03-02", setup["bob"].pk, "Bob Baker", "Day", "present") == days[1 + 31 + 1][:5]
    assert list(book["Groups"].values)[1][:2] == (setup["team"].pk, "Team")
    assert AuditEntry.objects.filter(action=Action.DATA_EXPORT, target_type="attendance.report").count() == 1


def test_csv_days_and_formula_names_are_quoted(setup):
    setup["bob"].display_name = "=cmd()"
    setup["bob"].save()
    response = session_client(setup["staff"]).get("/attendance/reports.csv", {**MARCH, "table": "days"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["date", "person_id", "person", "shift", "status"]
    assert any(r[2] == "'=cmd()" for r in rows[1:])


def test_report_api_and_schema(setup):
    client = session_client(setup["operator"])
    body = client.get("/api/v1/attendance-reports/", MARCH).json()
    assert (body["first"], body["last"]) == ("2026-03-01", "2026-03-31")
    alice = next(p for p in body["people"] if p["name"] == "Alice Archer")
    assert (alice["late_days"], alice["late_min"], alice["statuses"]["late"]) == (1, 20, 1)
    assert body["total"]["absent_days"] == 42
    assert [(g["person"], g["name"], g["late_min"]) for g in body["groups"]] == [(setup["team"].pk, "Team", 20)]
    days = client.get("/api/v1/attendance-reports/days/", {**MARCH, "person": setup["alice"].pk}).json()
    assert days["count"] == 31 and days["results"][1]["status"] == "late"
    assert client.get("/api/v1/attendance-reports/", {"from": "2026-03-02", "to": "2026-03-01"}).status_code == 400
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/attendance-reports/days/" in schema["paths"]
    assert "late_min" in schema["components"]["schemas"]["Totals"]["properties"]
    # a member asking for everyone gets themself
    mine = session_client(setup["bob_user"]).get("/api/v1/attendance-reports/", MARCH).json()
    assert [p["name"] for p in mine["people"]] == ["Bob Baker"]


def test_corrections_page_member_requests_operator_approves(setup):
    alice = setup["alice"]
    member = session_client(setup["alice_user"])
    answer = member.post("/attendance/corrections/", {"action": "add", "event_kind": "check_out",
                                                       "at": "2026-03-03T17:00", "reason": "camera off"})  # fmt: skip
    assert answer.status_code == 302
    recent = event(alice, timezone.now() - timedelta(days=1))
    assert f'<option value="{recent.pk}">' in member.get("/attendance/corrections/").content.decode()
    asked = Correction.objects.get(person=alice)
    assert asked.state == Correction.State.REQUESTED
    operator = session_client(setup["operator"])
    assert "camera off" in operator.get("/attendance/corrections/").content.decode()
    operator.post("/attendance/corrections/", {"action": "decide", "correction": asked.pk, "approve": "1"})
    asked.refresh_from_db()
    assert asked.state == Correction.State.APPROVED and asked.decided_by == setup["operator"]
    operator.post("/attendance/corrections/", {"action": "leave", "person": setup["bob"].pk,
                                               "first_day": "2026-03-04", "reason": "sick"})  # fmt: skip
    assert Leave.objects.get(person=setup["bob"]).last_day == date(2026, 3, 4)
    # Carol is in no group the operator supervises
    refused = operator.post("/attendance/corrections/", {"action": "leave", "person": setup["carol"].pk,
                                                         "first_day": "2026-03-04", "reason": "x"})  # fmt: skip
    assert refused.status_code == 404 and not Leave.objects.filter(person=setup["carol"]).exists()


def test_history_says_when_the_range_is_reversed(people):
    client = session_client(people["operator"])
    page = client.get("/attendance/history/", {"from": "2026-03-10", "to": "2026-03-01"})
    assert "the range is reversed: 2026-03-10 is after 2026-03-01" in page.content.decode()
    api = client.get("/api/v1/attendance/", {"from": "2026-03-10T00:00:00Z", "to": "2026-03-01"})
    assert api.status_code == 400 and "reversed" in str(api.json()["fields"]["to"])
    assert client.get("/api/v1/attendance/", {"from": "2026-03-01", "to": "2026-03-01"}).status_code == 200


def test_groups_page_lists_the_supervised_groups_and_members(setup):
    other = AttendanceGroup.objects.create(name="Other")
    other.members.add(setup["carol"])
    html = session_client(setup["operator"]).get("/attendance/groups/").content.decode()
    assert "Team" in html and "Alice Archer" in html and "Other" not in html and "Carol Cole" not in html
    staff = session_client(setup["staff"]).get("/attendance/groups/").content.decode()
    assert "Other" in staff and "Carol Cole" in staff
    assert session_client(setup["alice_user"]).get("/attendance/groups/").status_code == 404
