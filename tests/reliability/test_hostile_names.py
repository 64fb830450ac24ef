"""Script-ish and SQL-ish names are stored as given and shown escaped on every page that shows them.

People, file names and refusal reasons carrying markup or SQL go through the admin lists and change pages, the
batch page, the attendance pages, the admin and API searches, and the API's JSON. In HTML the markup must only
ever appear escaped; in JSON the value comes back exactly as stored, served as application/json.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils.html import escape
from rest_framework.test import APIClient

from attendance.services import record_presence
from recognition.models import Enrollment, FaceImage, Person
from tests.attendance.factories import BOX, frame

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE x; --"
ATTRIBUTE = '"><img src=x onerror=alert(2)>'
NAMES = [SCRIPT, SQL, ATTRIBUTE]
FILE = "<svg onload=alert(3)>.jpg"


@pytest.fixture
def hostile(db, media_root) -> dict:
    batch = Enrollment.objects.create(source="upload", state=Enrollment.State.DONE,
                                      errors=[{"file": FILE, "error": f"not an image {SCRIPT}"}])  # fmt: skip
    people = []
    for k, name in enumerate(NAMES):
        person = Person.objects.create(display_name=name, slug=f"hostile-{k}", notes=SCRIPT)
        FaceImage.objects.create(person=person, enrollment=batch, sha256=f"{k}".ljust(64, "0"),
                                 source="upload",
                                 status=FaceImage.Status.REJECTED, original_name=FILE,
                                 reject_reason=f"no face {SCRIPT}", file=f"faces/{k}.jpg")  # fmt: skip
        record_presence(person_id=person.pk, source="kiosk", score=0.7, margin=0.2, frame_bgr=frame(k),
                        box=BOX,
                        stream=f"{SCRIPT}/track-1")  # fmt: skip
        people.append(person)
    admin = get_user_model().objects.create_superuser("root", "root@example.test", "a-long-test-password")
    return {"batch": batch, "people": people, "admin": admin}


def assert_escaped(html: str, values: list[str]) -> None:
    for value in values:
        if any(c in value for c in "<>\"'"):
            assert value not in html, f"{value!r} appears unescaped"
        assert escape(value) in html, f"{escape(value)!r} is not on the page"


@pytest.mark.parametrize(
    "page",
    ["/admin/recognition/person/", "/admin/recognition/faceimage/", "/attendance/", "/attendance/history/",
     "batch", "change"],
)  # fmt: skip
def test_pages_show_the_names_escaped(hostile: dict, page: str) -> None:
    client = Client()
    client.force_login(hostile["admin"])
    if page == "batch":
        page = f"/recognition/batches/{hostile['batch'].pk}/"
    elif page == "change":
        page = f"/admin/recognition/person/{hostile['people'][0].pk}/change/"
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    shown = {
        "/admin/recognition/person/": NAMES,
        "/admin/recognition/faceimage/": [*NAMES, f"no face {SCRIPT}"],
        "/attendance/": NAMES,
        "/attendance/history/": NAMES,
    }.get(page)
    if shown is None and "batches" in page:
        shown = [*NAMES, FILE, f"no face {SCRIPT}", f"not an image {SCRIPT}"]
    elif shown is None:
        shown = [SCRIPT]  # the change form: name and notes in their fields
    assert_escaped(html, shown)


def test_sql_like_searches_are_just_text(hostile: dict) -> None:
    client = Client()
    client.force_login(hostile["admin"])
    response = client.get("/admin/recognition/person/", {"q": SQL})
    assert response.status_code == 200 and escape(SQL) in response.content.decode()
    api = APIClient()
    api.force_authenticate(hostile["admin"])
    found = api.get("/api/v1/persons/", {"search": SQL}).json()
    assert [p["display_name"] for p in found["results"]] == [SQL]
    bad_filter = api.get("/api/v1/attendance/", {"person": SQL})  # person is an id: a 400 naming it, not a 500
    assert bad_filter.status_code == 400 and bad_filter.json()["fields"] == {"person": "a person's id (a whole number)"}
    with connection.cursor() as cursor:  # every table is still there
        cursor.execute("SELECT count(*) FROM recognition_person")
        assert cursor.fetchone()[0] == len(NAMES)


def test_the_api_returns_the_names_exactly_as_json(hostile: dict) -> None:
    api = APIClient()
    api.force_authenticate(hostile["admin"])
    persons = api.get("/api/v1/persons/", {"page_size": 50})
    assert persons["Content-Type"] == "application/json"
    assert sorted(p["display_name"] for p in persons.json()["results"]) == sorted(NAMES)
    events = api.get("/api/v1/attendance/")
    assert events["Content-Type"] == "application/json"
    assert sorted(e["person_name"] for e in events.json()["results"]) == sorted(NAMES)
