"""The home dashboard: operators' board and 14-day SVG chart, a member's own week, the board fragment."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from attendance import charts, dashboard
from attendance.models import AttendanceGroup, Correction, ShiftAssignment, ShiftType
from tests.attendance.test_reports import event

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def morning(people):
    """A shift that started two hours ago (UTC site); Alice came 30 minutes late, Bob not at all."""
    now = timezone.now()
    start = (now - timedelta(hours=2)).replace(second=0, microsecond=0)
    if start.date() != now.date():
        pytest.skip("the shift would start yesterday: too close to midnight UTC for this scripted day")
    shift = ShiftType.objects.create(name="Morning", start=start.time(), end=time(23, 59), time_zone="UTC",
                                     late_grace_min=5)  # fmt: skip
    team = AttendanceGroup.objects.create(name="Team")
    team.members.add(people["alice"], people["bob"])
    ShiftAssignment.objects.create(shift=shift, group=team, first_day=now.date() - timedelta(days=20),
                                   weekdays=0b1111111)  # fmt: skip
    event(people["alice"], start + timedelta(minutes=30), kind="check_in")
    return people


def test_today_board_counts_present_late_and_absent(morning):
    board = dashboard.today_board(morning["staff"])
    assert board.present_now == 1
    assert board.late == [("Alice Archer", 30)] and board.absent == ["Bob Baker"]
    days = dashboard.recent_days(morning["staff"])
    assert len(days) == 14 and days[-1].day == timezone.localdate()
    assert (days[-1].late, days[-1].absent) == (1, 1)
    assert days[-2].absent == 2  # yesterday nobody came


def test_today_board_counts_unknown_faces_of_today_and_lists_devices_not_online(morning):
    from attendance.services import record_unknown_face
    from devices.models import Device, Kind, Location, Status

    now = timezone.now()
    record_unknown_face(source="kiosk", stream="k/track-1", first_seen_at=now, seen_s=3.0)
    record_unknown_face(source="kiosk", stream="k/track-1", first_seen_at=now, seen_s=11.0)  # the same face, later
    record_unknown_face(source="camera", stream="c/track-4", first_seen_at=now - timedelta(minutes=1), seen_s=2.0)
    record_unknown_face(source="camera", stream="c/track-2", first_seen_at=now - timedelta(days=1), seen_s=2.0)
    lobby = Location.objects.create(name="Lobby")
    Device.objects.create(name="Door kiosk", kind=Kind.KIOSK, location=lobby, status=Status.ONLINE)
    Device.objects.create(name="Gate camera", kind=Kind.CAMERA, location=lobby, status=Status.ERROR)
    Device.objects.create(name="New kiosk", kind=Kind.KIOSK, location=lobby)  # never paired: never seen
    Device.objects.create(name="Old camera", kind=Kind.CAMERA, location=lobby, enabled=False, status=Status.OFFLINE)

    board = dashboard.today_board(morning["operator"])
    assert board.unknown_faces == 2  # two faces today (one reported twice), yesterday's not counted
    assert sorted((d.name, d.status) for d in board.devices_down) == [("Gate camera", "error"),
                                                                      ("New kiosk", "never seen")]  # fmt: skip
    client = Client()
    client.force_login(morning["operator"])
    html = client.get("/attendance/board/").content.decode()
    assert '<span class="figure">2</span> unknown faces today' in html
    assert 'id="tile-devices"><span class="figure">2</span> devices offline' in html and "Gate camera" in html


def test_operator_home_is_the_dashboard_with_a_chart_and_links(morning):
    client = Client()
    client.force_login(morning["operator"])
    html = client.get("/").content.decode()
    for marker in ('id="tile-late"', "Alice Archer", "/attendance/reports/", "/recognition/upload/",
                   "/recognition/calibration/", "/api/docs/", "/live/", "<svg"):  # fmt: skip
        assert marker in html, marker
    fragment = client.get("/attendance/board/")
    assert fragment.status_code == 200 and 'id="board"' in fragment.content.decode()


def test_member_home_shows_their_week_and_requests(morning):
    Correction.objects.create(person=morning["alice"], kind="add", at=timezone.now(), event_kind="check_out",
                              reason="left by the back door")  # fmt: skip
    client = Client()
    client.force_login(morning["alice_user"])
    html = client.get("/").content.decode()
    assert 'id="my-week"' in html and "left by the back door" in html and "late" in html
    assert "Bob Baker" not in html
    assert client.get("/attendance/board/").status_code == 404


def test_anonymous_home_is_the_welcome_page(db):
    assert "Log in" in Client().get("/").content.decode()


def test_chart_is_valid_svg_with_escaped_titles():
    days = [charts.DayCounts(date(2026, 3, 1) + timedelta(days=n), n, 1, 2) for n in range(14)]
    svg = charts.stacked_days_svg(days, title="<script>")
    root = ET.fromstring(svg)
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 14
    assert groups[3].find(f"{SVG}title").text == "Wed 04 Mar: 3 present, 1 late, 2 absent"
    assert [r.get("class") for r in groups[3].findall(f"{SVG}rect")] == ["present", "late", "absent"]
    assert "<script>" not in svg
    # the busiest day fills the plot: 13 + 1 + 2 = 16 -> full height
    heights = sum(float(r.get("height")) for r in groups[13].findall(f"{SVG}rect"))
    assert heights == pytest.approx(180 - 22 - 22)


def test_empty_chart_draws_no_bars():
    assert ET.fromstring(charts.stacked_days_svg([])).findall(f"{SVG}g") == []
