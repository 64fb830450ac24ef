"""Malformed API requests get a 4xx in the API's error shape, never a 500: invalid JSON, unknown and wrongly
typed fields, an oversized body."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from recognition.models import Person
from tests.api.conftest import with_recognition_permissions

PERSONS = "/api/v1/persons/"


@pytest.fixture
def staff_client(db) -> APIClient:
    client = APIClient()
    staff = get_user_model().objects.create_user("staff", password="x" * 16, is_staff=True)
    client.force_authenticate(with_recognition_permissions(staff))
    return client


@pytest.mark.parametrize("body", ["{not json", '{"display_name": "A"', "[1, 2", "\x00\xff", '"just a string"'])
def test_invalid_json_is_a_400_in_the_error_shape(staff_client: APIClient, body: str) -> None:
    response = staff_client.post(PERSONS, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"error", "message", "status"}
    assert not Person.objects.exists()


def test_unknown_fields_are_ignored_and_read_only_ones_cannot_be_set(staff_client: APIClient) -> None:
    response = staff_client.post(PERSONS, {"display_name": "Grace", "id": 4242, "deleted_at": "2020-01-01T00:00Z",
                                           "is_superuser": True, "no_such_field": [1, 2]}, format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    person = Person.objects.get()
    assert person.display_name == "Grace" and person.pk != 4242 and person.deleted_at is None


@pytest.mark.parametrize("payload", [{"display_name": ["a", "b"]}, {"display_name": {"x": 1}}, {"display_name": ""},
                                     {"display_name": "x" * 10_000}, {}])  # fmt: skip
def test_wrongly_typed_or_missing_fields_are_a_400_naming_the_field(staff_client: APIClient, payload) -> None:
    response = staff_client.post(PERSONS, payload, format="json")
    assert response.status_code == 400, response.content
    assert "display_name" in response.json().get("fields", {})


def test_an_oversized_json_body_is_refused_without_a_500(staff_client: APIClient, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"display_name": "big", "notes": "' + "x" * 5000 + '"}'
    response = staff_client.post(PERSONS, body, content_type="application/json")
    assert response.status_code in (400, 413), response.content
    assert not Person.objects.exists()
