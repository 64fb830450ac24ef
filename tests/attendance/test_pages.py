"""Attendance pages through the test client: today (operators), history (members: own), CSV, evidence."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.utils import timezone

from attendance import services
from tests.attendance.factories import BOX, frame, utc


def record(person, when, source="camera"):
    return services.record_presence(
        person_id=person.pk, source=source, score=0.6, margin=0.1, frame_bgr=frame(), box=BOX, stream="s/t",
        at=when,
    )  # fmt: skip


@pytest.fixture
def today_log(people):
    now = timezone.now()
    return {
        "alice": record(people["alice"], now),
        "bob": record(people["bob"], now),
        "alice_old": record(people["alice"], utc(2025, 6, 10, 9, 0)),
        "carol_old": record(people["carol"], utc(2025, 6, 10, 9, 0)),
    }


@pytest.mark.django_db
def test_today_page(client, people, today_log) -> None:
    assert client.get("/attendance/").status_code == 302  # anonymous: to the login page
    client.force_login(people["alice_user"])
    assert client.get("/attendance/")["Location"].endswith("/attendance/history/")  # members: their history
    client.force_login(people["operator"])
    page = client.get("/attendance/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Alice Archer" in html and "Bob Baker" in html
    assert "Carol Cole" not in html  # not seen today
    assert 'data-socket-path="/ws/attendance/"' in html
    assert f'src="/attendance/evidence/{today_log["alice"].pk}.jpg"' in html


@pytest.mark.django_db
def test_history_shows_members_only_their_own(client, people, today_log) -> None:
    client.force_login(people["alice_user"])
    html = client.get("/attendance/history/", {"person": people["bob"].pk}).content.decode()
    assert "Alice Archer" in html
    assert "Bob Baker" not in html and "Carol Cole" not in html
    assert 'name="person"' not in html  # no person filter for members
    client.force_login(people["operator"])
    html = client.get("/attendance/history/", {"from": "2025-06-10", "to": "2025-06-10"}).content.decode()
    assert "Carol Cole" in html and "Alice Archer" in html and "Bob Baker" not in html.split("<h2>Days")[1]
    html = client.get("/attendance/history/", {"person": people["carol"].pk}).content.decode()
    assert "Alice Archer" not in html.split("<h2>Days")[1]
    bad = client.get("/attendance/history/", {"kind": "lunch"})
    assert bad.status_code == 200 and "kind: one of" in bad.content.decode()


@pytest.mark.django_db
def test_history_page_for_a_user_without_a_person(client, people, today_log) -> None:
    people["bob"].user = None
    people["bob"].save()
    client.force_login(people["bob_user"])
    html = client.get("/attendance/history/").content.decode()
    assert "not linked to an enrolled person" in html
    assert "Bob Baker" not in html and "Alice Archer" not in html


@pytest.mark.django_db
def test_csv_export_page(client, people, today_log) -> None:
    client.force_login(people["alice_user"])
    response = client.get("/attendance/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(r[0]) for r in rows[1:]} == {today_log["alice"].pk, today_log["alice_old"].pk}
    client.force_login(people["operator"])
    rows = list(
        csv.reader(io.StringIO(b"".join(client.get("/attendance/export.csv").streaming_content).decode()))
    )
    assert len(rows) == 1 + 4


@pytest.mark.django_db
def test_history_export_link_keeps_a_time_filter(client, people, today_log) -> None:
    """The page's CSV link carries the filter, time zone offset included ("+00:00" must not become a space)."""
    client.force_login(people["operator"])
    page = client.get("/attendance/history/", {"from": "2025-06-10T08:00:00+00:00", "to": "2025-06-10T10:00:00Z"})
    link = re.search(r'class="export" href="([^"]+)"', page.content.decode())
    response = client.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(r[0]) for r in rows[1:]} == {today_log["alice_old"].pk, today_log["carol_old"].pk}


@pytest.mark.django_db
def test_evidence_is_private(client, people, today_log) -> None:
    url = f"/attendance/evidence/{today_log['bob'].pk}.jpg"
    assert client.get(url).status_code == 302
    client.force_login(people["alice_user"])
    assert client.get(url).status_code == 404  # someone else's face: not even its existence is told
    assert client.get("/attendance/evidence/999999.jpg").status_code == 404
    for user in (people["bob_user"], people["operator"], people["staff"]):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"


@pytest.mark.django_db
def test_admin_lists_events_with_crops(client, people, today_log) -> None:
    people["staff"].is_superuser = True
    people["staff"].save()
    client.force_login(people["staff"])
    page = client.get("/admin/attendance/attendanceevent/")
    assert page.status_code == 200
    assert f"/attendance/evidence/{today_log['alice'].pk}.jpg" in page.content.decode()
    assert client.get(f"/admin/attendance/attendanceevent/{today_log['alice'].pk}/change/").status_code == 200
    assert client.get("/admin/attendance/attendanceevent/add/").status_code == 403
