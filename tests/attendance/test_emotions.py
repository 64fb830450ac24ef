"""The emotion chart: shares per live session and hour, "uncertain" kept apart, off for members by default."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
from django.test import Client

from attendance import charts, dashboard
from attendance.models import AttendanceEvent
from tests.attendance.factories import UTC

SVG = "{http://www.w3.org/2000/svg}"
DAY = date(2026, 3, 2)


def seen(person, hour: int, minute: int, emotion: str, stream: str = "abc123/track-1", source: str = "page"):
    at = datetime(2026, 3, 2, hour, minute, tzinfo=UTC)
    return AttendanceEvent.objects.create(person=person, at=at, day=DAY, source=source, kind="seen", score=0.8,
                                          margin=0.2, emotion=emotion, stream=stream)  # fmt: skip


@pytest.fixture
def faces(people):
    seen(people["alice"], 9, 5, "happy")
    seen(people["bob"], 9, 40, "uncertain", stream="abc123/track-7")
    seen(people["alice"], 10, 1, "neutral")
    seen(people["carol"], 10, 30, "", stream="", source="kiosk")
    return people


def test_series_per_session_and_hour(faces):
    series = {s.key: s for s in dashboard.emotion_series(faces["staff"], DAY)}
    assert set(series) == {"abc123", "kiosk"}
    live = series["abc123"]
    assert live.faces == 3
    assert [(b.label, b.counts) for b in live.buckets] == [("09:00", {"happy": 1, "uncertain": 1}),
                                                           ("10:00", {"neutral": 1})]  # fmt: skip
    assert series["kiosk"].buckets[0].counts == {"unknown": 1}


def test_uncertain_is_its_own_band_and_shares_fill_the_bar():
    svg = charts.emotion_shares_svg([charts.ShareBucket("09:00", {"happy": 1, "uncertain": 3})])
    bucket = ET.fromstring(svg).find(f"{SVG}g")
    rects = {r.get("class"): float(r.get("height")) for r in bucket.findall(f"{SVG}rect")}
    assert set(rects) == {"e-happy", "e-uncertain"}
    assert rects["e-uncertain"] == pytest.approx(3 * rects["e-happy"])
    assert bucket.find(f"{SVG}title").text == "09:00: happy 1, uncertain 3"


def test_page_for_operators_with_the_note_and_off_for_members(faces, settings):
    operator = Client()
    operator.force_login(faces["operator"])
    html = operator.get("/attendance/emotions/", {"day": "2026-03-02"}).content.decode()
    assert "65%" in html and "uncertain" in html and 'data-key="abc123"' in html and "<svg" in html
    member = Client()
    member.force_login(faces["alice_user"])
    assert member.get("/attendance/emotions/", {"day": "2026-03-02"}).status_code == 404
    settings.ATTENDANCE_EMOTIONS_FOR_MEMBERS = True
    own = member.get("/attendance/emotions/", {"day": "2026-03-02"}).content.decode()
    assert "2 recorded faces" in own  # her two events only, not Bob's
    assert operator.get("/attendance/emotions/", {"day": "March"}).status_code == 400
