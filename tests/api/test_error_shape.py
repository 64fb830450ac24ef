"""Every API error is JSON in the one shape {"error", "message", "status"[, "fields"]}, whatever went wrong and
whatever was negotiated; and what the schema publishes is what the API takes (the cases schemathesis found)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.test import AsyncClient, Client, RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle

from recognition.api.errors import server_error
from recognition.api.views import PersonViewSet
from recognition.models import Person

pytestmark = pytest.mark.django_db
PERSONS = "/api/v1/persons/"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert body["error"] == code and body["status"] == status and body["message"], body
    return body


@pytest.fixture
def person() -> Person:
    return Person.objects.create(display_name="Zoë Li", slug="zoë-li")


@pytest.mark.parametrize("body", [b"", b"--x--\r\n"])
def test_an_empty_multipart_body_is_a_json_400_through_wsgi_and_asgi(staff, person, body):
    token = Token.objects.create(user=staff).key
    wsgi, asgi = Client(), AsyncClient()
    for url, field in (
        ("/api/v1/identify/", "image"),
        ("/api/v1/verify/", "non_field_errors"),
        (f"{PERSONS}{person.pk}/enrollments/", "files"),
    ):
        kwargs = {"content_type": "multipart/form-data; boundary=x", "headers": {"Authorization": f"Token {token}"}}
        for response in (wsgi.post(url, body, **kwargs), async_to_sync(asgi.post)(url, body, **kwargs)):
            assert field in assert_error(response, 400, "invalid")["fields"]


def test_parser_errors_wrong_methods_and_missing_credentials_are_in_the_one_shape(staff_client, person):
    broken = staff_client.post(PERSONS, "{not json", content_type="application/json")
    assert_error(broken, 400, "parse_error")
    assert_error(staff_client.put(PERSONS, {}, format="json"), 405, "method_not_allowed")
    assert_error(Client().get(PERSONS), 401, "not_authenticated")
    assert_error(Client().get(f"{PERSONS}{person.pk}/", HTTP_AUTHORIZATION="Token nope"), 401, "authentication_failed")


def test_throttled_requests_are_in_the_one_shape(staff_client, person, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "get_rate", lambda self: "1/minute")
    cache.clear()
    assert staff_client.get(PERSONS).status_code == 200
    throttled = staff_client.get(PERSONS)
    assert_error(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) > 0
    cache.clear()


@pytest.mark.services
def test_an_empty_multipart_body_is_a_json_400_through_daphne(daphne_server, staff):
    """The finding itself: daphne (Twisted) parsed the form first and answered a bare 400, no body, no type."""
    person = Person.objects.create(display_name="Zoë Li", slug="zoë-li")
    headers = {
        "Authorization": f"Token {Token.objects.create(user=staff).key}",
        "Content-Type": "multipart/form-data; boundary=x",
    }
    for url in ("/api/v1/identify/", "/api/v1/verify/", f"{PERSONS}{person.pk}/enrollments/"):
        request = urllib.request.Request(f"{daphne_server}{url}", data=b"--x--\r\n", headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 400, url
        assert refused.value.headers.get("Content-Type") == "application/json", (url, dict(refused.value.headers))
        body = json.loads(refused.value.read())
        assert body["error"] == "invalid" and body["status"] == 400, body


def test_a_server_error_in_the_api_is_json_and_a_page_elsewhere(staff, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(PersonViewSet, "list", fail)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    assert_error(client.get(PERSONS), 500, "server_error")
    page = server_error(RequestFactory().get("/recognition/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_enrollments_take_multipart_only(staff_client, person):
    response = staff_client.post(f"{PERSONS}{person.pk}/enrollments/", {"files": []}, format="json")
    assert_error(response, 415, "unsupported_media_type")


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert_error(client.post("/api/v1/persons/0.5/restore/"), 404, "not_found")


@pytest.mark.parametrize(
    "query",
    [{"page": "0"}, {"page": "two"}, {"page_size": "0"}, {"page_size": "null"}, {"is_active": "null"}],
)
def test_list_parameters_are_read_as_published(staff_client, person, query):
    assert_error(staff_client.get(PERSONS, query), 400, "invalid")


def test_pages_past_the_last_are_404_and_the_page_size_is_capped(staff_client, person):
    assert_error(staff_client.get(PERSONS, {"page": "2"}), 404, "not_found")
    assert staff_client.get(PERSONS, {"page": "last", "page_size": "9999"}).json()["count"] == 1
    assert staff_client.get(PERSONS, {"is_active": "true"}).json()["count"] == 1
    assert staff_client.get(PERSONS, {"is_active": "0"}).json()["count"] == 0


@pytest.mark.parametrize("value", ["0", "1", "yes", "on"])
def test_is_active_is_true_or_false(staff_client, value):
    body = assert_error(staff_client.post(PERSONS, {"display_name": "Ada", "is_active": value}), 400, "invalid")
    assert "is_active" in body["fields"]
    assert not Person.objects.exists()


def test_a_blank_name_is_refused_as_the_schema_says(staff_client):
    assert "display_name" in assert_error(staff_client.post(PERSONS, {"display_name": " \t"}), 400, "invalid")["fields"]
    created = staff_client.post(PERSONS, {"display_name": "Ada", "is_active": "false"}, format="json")
    assert created.status_code == 201 and created.json()["is_active"] is False


def test_unicode_slugs_are_answered_and_not_published_with_an_ascii_pattern(staff_client, person):
    assert staff_client.get(f"{PERSONS}{person.pk}/").json()["slug"] == "zoë-li"
    schema = staff_client.get("/api/schema/?format=json").json()
    assert "pattern" not in schema["components"]["schemas"]["Person"]["properties"]["slug"]


def test_the_schema_publishes_every_error_in_the_one_shape(client):
    schema = client.get("/api/schema/?format=json").json()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert response.get("content") == error, (method, path, status)
    identify, verify = schema["paths"]["/api/v1/identify/"]["post"], schema["paths"]["/api/v1/verify/"]["post"]
    assert identify["requestBody"]["required"] and verify["requestBody"]["required"]
    forms = verify["requestBody"]["content"]["multipart/form-data"]["schema"]["oneOf"]
    assert [f["required"] for f in forms] == [["image_a", "image_b"], ["image", "person"]]
    assert {"400", "401", "403", "404", "413", "415", "429"} <= set(identify["responses"])
    persons = schema["paths"]["/api/v1/persons/"]["get"]["parameters"]
    assert all(p["schema"]["minimum"] == 1 for p in persons if p["name"] in ("page", "page_size"))


# --- attendance's API (attendance/api.py): the errors schemathesis found there ---------------------------------
def test_attendance_errors_are_json_even_where_csv_or_jpeg_was_asked_for(staff_client):
    export = staff_client.get("/api/v1/attendance/export/", {"source": "nowhere", "format": "csv"})
    assert "source" in assert_error(export, 400, "invalid")["fields"]
    assert_error(staff_client.get("/api/v1/attendance/0/evidence/", {"format": "jpg"}), 404, "not_found")


@pytest.mark.parametrize(
    "url, query",
    [
        ("/api/v1/attendance/", {"source": "nowhere"}),
        ("/api/v1/attendance/", {"to": ""}),
        ("/api/v1/attendance-reports/", {"to": ""}),
        ("/api/v1/attendance-reports/days/", {"page": "0"}),
    ],
)
def test_attendance_filters_are_read_as_published(staff_client, url, query):
    assert_error(staff_client.get(url, query), 400, "invalid")


def test_an_offset_postgresql_cannot_store_is_no_500(staff_client):
    response = staff_client.get("/api/v1/attendance/", {"from": "2020-02-08T20:09:50+18:39"})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_report_totals_are_one_object_as_published(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    published = schema["paths"]["/api/v1/attendance-reports/"]["get"]["responses"]["200"]
    assert published["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Report"}
    assert "first" in staff_client.get("/api/v1/attendance-reports/").json()
