"""Verify must not tell a member which person ids exist: another person's id and an id nobody has get the same
answer. Operators still get 404 for an id nobody has."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from recognition.models import Person
from tests.security.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db
VERIFY = "/api/v1/verify/"


def ask(user, person_id: int):
    client = APIClient()
    client.force_authenticate(user)
    image = SimpleUploadedFile("face.jpg", jpeg_bytes(), content_type="image/jpeg")
    return client.post(VERIFY, {"person": person_id, "image": image}, format="multipart")


def test_a_member_cannot_tell_an_existing_person_from_a_missing_one(world) -> None:
    member = world.users["member"]
    someone = Person.objects.get(slug="bob-baker").pk
    missing = Person.objects.order_by("-pk").first().pk + 1000
    existing, absent = ask(member, someone), ask(member, missing)
    assert existing.status_code == absent.status_code == 403
    assert existing.json() == absent.json()


def test_an_operator_is_told_the_id_is_unknown(world) -> None:
    missing = Person.objects.order_by("-pk").first().pk + 1000
    assert ask(world.users["operator"], missing).status_code == 404
