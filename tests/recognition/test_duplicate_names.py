"""Adding a person whose name another person already has is flagged (a warning: two people may share a name)."""

from __future__ import annotations

from django.test import Client

from recognition.models import Person


def add_person(client: Client, name: str, slug: str):
    return client.post("/admin/recognition/person/add/", {"display_name": name, "slug": slug, "is_active": "on",
                                                          "notes": ""}, follow=True)  # fmt: skip


def test_a_duplicate_name_is_flagged_when_the_person_is_created(staff_client: Client):
    client = staff_client
    first = add_person(client, "Ann Lee", "ann-lee")
    assert "already called" not in first.content.decode()
    second = add_person(client, "ann lee ", "ann-lee-2")
    assert Person.objects.filter(display_name__iexact="ann lee").count() == 2  # allowed
    assert "Another person is already called" in second.content.decode()
