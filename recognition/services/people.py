"""People by name: creating a Person, and finding the Person an enrollment by name adds to (or refusing to)."""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.utils.text import slugify

from recognition.models import Person
from recognition.refusals import Refusal, refusal_words


class PersonExists(ValueError):
    def __init__(self, person: Person) -> None:
        self.person = person
        where = " (in the recycle bin: POST its restore/)" if person.in_recycle_bin else ""
        super().__init__(f"A person with this name exists: id {person.pk}{where}.")


class NameUnavailable(ValueError):
    """Enrollment by name may not add to the Person of that name (see person_for_name)."""

    def __init__(self, code: Refusal, name: str) -> None:
        self.code, self.name = code, name
        super().__init__(refusal_words(code, name=name))


def name_and_slug(display_name: str) -> tuple[str, str]:
    """People are told apart by the slug of their name; a name with no slug-able letters gets a digest."""
    name = " ".join(display_name.split())[:200]
    if not name:
        raise ValueError("a person needs a name")
    return name, slugify(name, allow_unicode=True)[:200] or "person-" + hashlib.sha256(name.encode()).hexdigest()[:10]


def create_person(display_name: str, **fields) -> Person:
    """A new person (PersonExists when the name is taken, also by someone in the recycle bin)."""
    name, slug = name_and_slug(display_name)
    existing = Person.objects.filter(slug=slug).first()
    if existing is not None:
        raise PersonExists(existing)
    return Person.objects.create(display_name=name, slug=slug, **fields)


def person_for_name(display_name: str) -> Person:
    """The person with this name (by slug), created when new.

    Only people staff enroll by name are found by name: a Person that belongs to an account (a member, who may
    have signed up under anyone's name, or someone who withdrew consent and kept a name without face data) is
    never added to, and a Person in the recycle bin is never silently revived; both are NameUnavailable."""
    name, slug = name_and_slug(display_name)
    if not Person.objects.filter(slug=slug).exists() and _withdrew_consent(slug):
        raise NameUnavailable(Refusal.NAME_OF_WITHDRAWN, name)
    person, created = Person.objects.get_or_create(slug=slug, defaults={"display_name": name})
    if created:
        return person
    if person.user_id is not None:
        raise NameUnavailable(Refusal.NAME_OF_ACCOUNT, name)
    if person.deleted_at is not None:
        raise NameUnavailable(Refusal.NAME_IN_RECYCLE_BIN, name)
    return person


def _withdrew_consent(slug: str) -> bool:
    """Is `slug` the name of an account whose consent is withdrawn (and not given again)? Its Person was erased
    with its face data, so only the account's name is left to recognise it by. (`consents`: accounts' Consent;
    read through the user model, as accounts builds on recognition and not the other way round.)"""
    users = (
        get_user_model().objects.filter(consents__withdrawn_at__isnull=False)
        .exclude(consents__withdrawn_at__isnull=True).distinct()
    )  # fmt: skip
    for user in users.only("username", "first_name", "last_name"):
        try:
            if name_and_slug(user.get_full_name() or user.get_username())[1] == slug:
                return True
        except ValueError:
            continue
    return False
