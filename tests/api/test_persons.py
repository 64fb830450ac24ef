"""People, their images and enrollment batches over the API: permissions, recycle bin, errors as JSON."""

from __future__ import annotations

import io
import zipfile

import pytest
from rest_framework.test import APIClient

from recognition.models import Enrollment, FaceImage, Person

pytestmark = pytest.mark.django_db
PERSONS = "/api/v1/persons/"


@pytest.fixture
def people():
    return [
        Person.objects.create(display_name=n, slug=n.lower().replace(" ", "-"), notes=note)
        for n, note in (("Ada Lovelace", "engine"), ("Alan Turing", "bombe"), ("Grace Hopper", "cobol"))
    ]


def test_anonymous_gets_401_with_a_token_challenge(people):
    response = APIClient().get(PERSONS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response.json()["error"] == "not_authenticated"


def test_a_wrong_token_is_401(people):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(PERSONS).status_code == 401


def test_token_obtained_with_password_works(member):
    response = APIClient().post("/api/v1/auth/token/", {"username": "member", "password": "pw-member-123"})
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(PERSONS).status_code == 200


def test_session_login_works_for_pages(operator, people):
    client = APIClient()
    client.login(username="kiosk", password="pw-operator-123")
    assert client.get(PERSONS).json()["count"] == 3


def test_list_search_filter_and_paginate(operator_client, people):
    member_client = operator_client
    body = member_client.get(PERSONS).json()
    assert body["count"] == 3 and [p["display_name"] for p in body["results"]][0] == "Ada Lovelace"
    assert [p["display_name"] for p in member_client.get(PERSONS, {"search": "cobol"}).json()["results"]] == [
        "Grace Hopper"
    ]
    page = member_client.get(PERSONS, {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 1
    Person.objects.filter(pk=people[1].pk).update(is_active=False)
    assert member_client.get(PERSONS, {"is_active": "false"}).json()["count"] == 1


def test_member_reads_only_themself_and_cannot_change_identities(member, member_client, people):
    assert member_client.get(PERSONS).json()["count"] == 0  # not enrolled: sees nobody
    assert member_client.get(f"{PERSONS}{people[0].pk}/").status_code == 404
    Person.objects.filter(pk=people[0].pk).update(user=member)
    assert [p["id"] for p in member_client.get(PERSONS).json()["results"]] == [people[0].pk]
    assert member_client.get(f"{PERSONS}{people[0].pk}/").status_code == 200
    assert member_client.get(f"{PERSONS}{people[1].pk}/").status_code == 404
    for response in (
        member_client.post(PERSONS, {"display_name": "Mallory"}),
        member_client.patch(f"{PERSONS}{people[0].pk}/", {"notes": "x"}),
        member_client.delete(f"{PERSONS}{people[0].pk}/"),
        member_client.post(f"{PERSONS}{people[0].pk}/enrollments/", {}),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["error"] == "permission_denied"
    assert not Person.objects.filter(display_name="Mallory").exists()
    assert Person.objects.get(pk=people[0].pk).deleted_at is None


def test_staff_creates_updates_and_bins_a_person(staff_client, people):
    created = staff_client.post(PERSONS, {"display_name": "  Katherine   Johnson ", "notes": "orbits"})
    assert created.status_code == 201, created.content
    person = created.json()
    assert (person["display_name"], person["slug"], person["notes"]) == (
        "Katherine Johnson",
        "katherine-johnson",
        "orbits",
    )
    duplicate = staff_client.post(PERSONS, {"display_name": "Katherine Johnson"})
    assert duplicate.status_code == 400 and "exists" in duplicate.json()["message"]
    assert staff_client.patch(f"{PERSONS}{person['id']}/", {"notes": "NASA"}).json()["notes"] == "NASA"
    assert staff_client.delete(f"{PERSONS}{person['id']}/").status_code == 204
    assert Person.objects.get(pk=person["id"]).in_recycle_bin
    assert staff_client.get(PERSONS).json()["count"] == 3  # out of the list...
    assert staff_client.get(PERSONS, {"in_recycle_bin": "true"}).json()["count"] == 1  # ...but in the bin
    restored = staff_client.post(f"{PERSONS}{person['id']}/restore/")
    assert restored.status_code == 200 and restored.json()["in_recycle_bin"] is False


def test_validation_errors_and_404_are_json(staff_client):
    response = staff_client.post(PERSONS, {"display_name": "   "})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and "display_name" in body["fields"] and body["message"]
    missing = staff_client.get(f"{PERSONS}999999/")
    assert missing.status_code == 404 and missing.json() == {
        "error": "not_found",
        "message": missing.json()["message"],
        "status": 404,
    }
    unknown = staff_client.get("/api/v1/no-such-thing/")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def _jpeg_bytes(colour=(120, 90, 60)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_enroll_images_and_a_zip_for_a_person_then_follow_the_batch(staff_client, people, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = (
        False  # take files in only; processing is the enrollment tests' subject
    )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a/one.jpg", _jpeg_bytes((10, 200, 30)))
        archive.writestr("notes.txt", "not an image")
    zipped.seek(0)
    zipped.name = "batch.zip"
    single = io.BytesIO(_jpeg_bytes())
    single.name = "face.jpg"
    response = staff_client.post(
        f"{PERSONS}{people[0].pk}/enrollments/", {"files": [single, zipped]}, format="multipart"
    )
    assert response.status_code == 202, response.content
    batch = response.json()
    assert batch["total"] == 2 and batch["pending"] == 2
    assert [e["file"] for e in batch["errors"]] == ["notes.txt"]
    assert response["Location"].endswith(f"/api/v1/enrollments/{batch['batch_id']}/")
    assert FaceImage.objects.filter(person=people[0], source="api").count() == 2
    assert Enrollment.objects.get(pk=batch["batch_id"]).source == "api"
    progress = staff_client.get(f"/api/v1/enrollments/{batch['batch_id']}/").json()
    assert (progress["total"], progress["processed"], progress["percent"]) == (2, 0, 0)
    listed = staff_client.get(f"{PERSONS}{people[0].pk}/enrollments/").json()
    assert [b["batch_id"] for b in listed["results"]] == [batch["batch_id"]]
    images = staff_client.get(f"{PERSONS}{people[0].pk}/images/", {"status": "pending"}).json()
    assert images["count"] == 2
    first = images["results"][0]["id"]
    assert staff_client.delete(f"{PERSONS}{people[0].pk}/images/{first}/").status_code == 204
    assert FaceImage.objects.get(pk=first).status == FaceImage.Status.DELETED
    assert staff_client.delete(f"{PERSONS}{people[1].pk}/images/{first}/").status_code == 404  # not theirs
    assert staff_client.get("/api/v1/enrollments/999999/").status_code == 404


def test_enrollment_without_files_is_400(staff_client, people):
    response = staff_client.post(f"{PERSONS}{people[0].pk}/enrollments/", {}, format="multipart")
    assert response.status_code == 400 and "files" in response.json()["fields"]


def test_members_cannot_read_batches(member_client):
    batch = Enrollment.objects.create(source="api")
    assert member_client.get(f"/api/v1/enrollments/{batch.pk}/").status_code == 403


def test_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/persons/",
        "/api/v1/identify/",
        "/api/v1/verify/",
        "/api/v1/enrollments/{id}/",
        "/api/v1/persons/{id}/enrollments/",
    ):
        assert path in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content.lower()
    assert b"cdn.jsdelivr" not in docs.content  # served locally (sidecar): works without internet


def test_notes_longer_than_the_limit_are_refused(staff):
    from tests.api.conftest import token_client

    client = token_client(staff)
    too_long = client.post("/api/v1/persons/", {"display_name": "ann", "notes": "x" * 4001}, format="json")
    assert too_long.status_code == 400 and "notes" in too_long.json()["fields"]
    at_limit = client.post("/api/v1/persons/", {"display_name": "ann", "notes": "x" * 4000}, format="json")
    assert at_limit.status_code == 201


def test_a_name_without_letters_for_a_slug_is_still_one_person(staff):
    from tests.api.conftest import token_client

    client = token_client(staff)
    first = client.post("/api/v1/persons/", {"display_name": "???"}, format="json")
    assert first.status_code == 201, first.content
    again = client.post("/api/v1/persons/", {"display_name": "???"}, format="json")
    assert again.status_code == 400 and f"id {first.json()['id']}" in again.json()["message"]
    assert Person.objects.filter(display_name="???").count() == 1


def test_batch_lists_count_every_batch_in_one_query(staff_client, people):
    """Listing batches costs the same queries for 1 or 6 batches, and each batch is counted whole, also in a
    person's list where only some of its images are that person's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_batch(statuses: list[str]) -> Enrollment:
        batch = Enrollment.objects.create(source="api")
        for k, status in enumerate(statuses):
            FaceImage.objects.create(person=people[k % 2], enrollment=batch, file=f"faces/{batch.pk}-{k}.jpg",
                                     sha256=f"{batch.pk:032d}{k:032d}", source="import", status=status)  # fmt: skip
        return batch

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(url).status_code == 200
        return len(captured)

    add_batch(["enrolled", "pending", "rejected"])
    one = queries("/api/v1/enrollments/")
    for _ in range(5):
        add_batch(["enrolled", "enrolled", "deleted"])
    assert queries("/api/v1/enrollments/") == one
    listed = staff_client.get(f"{PERSONS}{people[0].pk}/enrollments/").json()["results"]
    assert len(listed) == 6 and {b["total"] for b in listed} == {3}
    first = next(b for b in listed if b["pending"])
    assert (first["enrolled"], first["pending"], first["rejected"], first["percent"]) == (1, 1, 1, 67)
