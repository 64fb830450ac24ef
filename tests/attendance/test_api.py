"""/api/v1/attendance/: who sees what, filters, pagination, daily summaries, CSV export, evidence crops."""

from __future__ import annotations

import csv
import io

import pytest

from attendance import services
from tests.attendance.factories import BOX, frame, utc
from tests.support.users import api_client, token_client

URL = "/api/v1/attendance/"


def record(person, when, source="camera"):
    return services.record_presence(
        person_id=person.pk, source=source, score=0.6, margin=0.1, frame_bgr=frame(), box=BOX, stream="s/t",
        at=when,
    )  # fmt: skip


@pytest.fixture
def log(people):
    """Two days of events for alice, bob and carol (carol has no account)."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    events = {
        "alice_in": record(alice, utc(2025, 6, 10, 9, 0)),
        "alice_kiosk": record(alice, utc(2025, 6, 10, 9, 30), "kiosk"),
        "alice_out": record(alice, utc(2025, 6, 10, 17, 0), "exit"),
        "bob_in": record(bob, utc(2025, 6, 10, 8, 0)),
        "carol_in": record(carol, utc(2025, 6, 11, 10, 0), "kiosk"),
        "alice_next": record(alice, utc(2025, 6, 11, 9, 0)),
    }
    assert all(events.values())
    return events


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.django_db
def test_anonymous_callers_are_refused(log) -> None:
    for path in (URL, f"{URL}summaries/", f"{URL}export/", f"{URL}{log['alice_in'].pk}/"):
        response = api_client(None).get(path)
        assert response.status_code == 401, path
        assert response.json()["error"] == "not_authenticated"
    evidence = api_client(None).get(f"{URL}{log['alice_in'].pk}/evidence/")
    assert evidence.status_code == 401


@pytest.mark.django_db
def test_a_member_sees_only_their_own_rows(people, log) -> None:
    alice = api_client(people["alice_user"])
    own = {e.pk for k, e in log.items() if k.startswith("alice")}
    assert ids(alice.get(URL)) == own
    assert ids(alice.get(URL, {"person": people["bob"].pk})) == set()  # asking for someone else gives nothing
    assert alice.get(f"{URL}{log['bob_in'].pk}/").status_code == 404
    assert alice.get(f"{URL}{log['alice_in'].pk}/").json()["person_name"] == "Alice Archer"
    summaries = alice.get(f"{URL}summaries/").json()["results"]
    assert {(s["person"], s["day"]) for s in summaries} == {(people["alice"].pk, "2025-06-10"),
                                                            (people["alice"].pk, "2025-06-11")}  # fmt: skip
    rows = list(csv.reader(io.StringIO(b"".join(alice.get(f"{URL}export/").streaming_content).decode())))
    assert {int(r[0]) for r in rows[1:]} == own
    # a user with no linked person sees nothing, rather than everything
    assert ids(api_client(people["bob_user"]).get(URL)) == {log["bob_in"].pk}
    people["bob"].user = None
    people["bob"].save()
    assert ids(api_client(people["bob_user"]).get(URL)) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["operator", "staff"])
def test_operators_and_staff_see_every_row(people, log, role) -> None:
    assert ids(api_client(people[role]).get(URL, {"page_size": 100})) == {e.pk for e in log.values()}


@pytest.mark.django_db
def test_token_authentication_works_for_members(people, log) -> None:
    assert ids(token_client(people["alice_user"]).get(URL)) == {e.pk for k, e in log.items() if k.startswith("alice")}


@pytest.mark.django_db
def test_filters(people, log) -> None:
    staff = api_client(people["staff"])
    assert ids(staff.get(URL, {"person": people["carol"].pk})) == {log["carol_in"].pk}
    assert ids(staff.get(URL, {"source": "kiosk"})) == {log["alice_kiosk"].pk, log["carol_in"].pk}
    assert ids(staff.get(URL, {"kind": "check_out"})) == {log["alice_out"].pk}
    assert ids(staff.get(URL, {"from": "2025-06-11"})) == {log["carol_in"].pk, log["alice_next"].pk}
    assert ids(staff.get(URL, {"to": "2025-06-10", "person": people["alice"].pk})) == {
        log["alice_in"].pk, log["alice_kiosk"].pk, log["alice_out"].pk,
    }  # fmt: skip
    window = {"from": "2025-06-10T08:30:00Z", "to": "2025-06-10T10:00:00Z"}  # instants, not days
    assert ids(staff.get(URL, window)) == {log["alice_in"].pk, log["alice_kiosk"].pk}
    bad = staff.get(URL, {"kind": "lunch", "from": "yesterday"})
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"kind", "from"}


@pytest.mark.django_db
def test_pagination_and_order(people, log) -> None:
    staff = api_client(people["staff"])
    first = staff.get(URL, {"page_size": 4}).json()
    assert first["count"] == 6 and len(first["results"]) == 4 and first["next"]
    second = staff.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    times = [row["at"] for row in first["results"] + second["results"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.django_db
def test_daily_summaries(people, log) -> None:
    staff = api_client(people["staff"])
    body = staff.get(f"{URL}summaries/", {"person": people["alice"].pk, "to": "2025-06-10"}).json()
    assert body["count"] == 1
    day = body["results"][0]
    assert day["day"] == "2025-06-10" and day["person_name"] == "Alice Archer"
    assert day["first_in"].startswith("2025-06-10T09:00:00") and day["last_out"].startswith("2025-06-10T17:00:00")
    assert day["present_s"] == 8 * 3600 and day["events"] == 3 and day["checked_out"] is True
    # a kind filter picks the days; the figures still use the whole day
    filtered = staff.get(f"{URL}summaries/", {"kind": "check_out"}).json()["results"]
    assert [(d["person"], d["day"], d["events"]) for d in filtered] == [(people["alice"].pk, "2025-06-10", 3)]
    everyone = staff.get(f"{URL}summaries/").json()
    assert everyone["count"] == 4  # alice twice, bob, carol


@pytest.mark.django_db
def test_csv_export(people, log) -> None:
    response = api_client(people["operator"]).get(f"{URL}export/", {"from": "2025-06-10", "to": "2025-06-10"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="attendance-20250610-20250610.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:8] == ["id", "date", "local_time", "at_utc", "person_id", "person", "source", "kind"]
    oldest_first = ("bob_in", "alice_in", "alice_kiosk", "alice_out")
    assert [int(r[0]) for r in rows[1:]] == [log[k].pk for k in oldest_first]
    bob = rows[1]
    bob_id = str(people["bob"].pk)
    assert bob[1:8] == [
        "2025-06-10",
        "08:00:00",
        "2025-06-10T08:00:00+00:00",
        bob_id,
        "Bob Baker",
        "camera",
        "check_in",
    ]
    # a client that asks for CSV explicitly gets it too
    explicit = api_client(people["operator"]).get(f"{URL}export/", HTTP_ACCEPT="text/csv")
    assert explicit.status_code == 200 and explicit["Content-Type"].startswith("text/csv")


@pytest.mark.django_db
def test_csv_cells_never_become_formulas(people) -> None:
    people["carol"].display_name = '=HYPERLINK("http://evil.test")'
    people["carol"].save()
    record(people["carol"], utc(2025, 6, 10, 9, 0))
    response = api_client(people["staff"]).get(f"{URL}export/")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][5].startswith("'=")


@pytest.mark.django_db
def test_evidence_through_the_api(people, log) -> None:
    own = api_client(people["alice_user"]).get(f"{URL}{log['alice_in'].pk}/evidence/")
    assert own.status_code == 200 and own["Content-Type"] == "image/jpeg"
    assert own["Cache-Control"] == "private, no-store"
    assert b"".join(own.streaming_content)[:3] == b"\xff\xd8\xff"
    assert api_client(people["alice_user"]).get(f"{URL}{log['bob_in'].pk}/evidence/").status_code == 404
    assert api_client(people["operator"]).get(f"{URL}{log['bob_in'].pk}/evidence/").status_code == 200
    listed = api_client(people["alice_user"]).get(URL).json()["results"][0]
    assert listed["evidence_url"].endswith(f"{URL}{listed['id']}/evidence/")


@pytest.mark.django_db
def test_the_api_is_read_only(people, log) -> None:
    staff = api_client(people["staff"])
    assert staff.post(URL, {"person": people["alice"].pk}).status_code == 405
    assert staff.delete(f"{URL}{log['alice_in'].pk}/").status_code == 405
