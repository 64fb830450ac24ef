"""Sign-up: validation (Django's password validators, unique username and email, consent), what an account
gets (hashed password, consent with text/version/time, its own Person), the pending session, and roles."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts import services
from accounts.models import Consent
from accounts.roles import OPERATOR_GROUP, is_operator
from accounts.views import PENDING
from recognition.models import Person
from tests.accounts.conftest import PASSWORD, client_for, signed_up

pytestmark = pytest.mark.django_db
SIGNUP = "/accounts/signup/"


def form(**overrides) -> dict:
    data = {"first_name": "Ann  Lee", "username": "ann", "email": "ann@example.test",
            "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_urls_are_where_the_nav_links_point() -> None:
    assert reverse("accounts:signup") == SIGNUP
    assert reverse("accounts:profile") == "/accounts/profile/"
    assert reverse("login") == "/accounts/login/"  # django.contrib.auth.urls still served after ours


def test_sign_up_page_shows_the_form_and_the_consent_text(settings) -> None:
    response = Client().get(SIGNUP)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("first_name", "username", "email", "password1", "password2", "consent"):
        assert f'name="{field}"' in html
    assert escape(settings.CONSENT_TEXT) in html


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", "too short"), ("password123", "too common"), ("83920174659", "entirely numeric"),
     ("tulip-harbour", "too similar")],
)  # fmt: skip
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    response = Client().post(SIGNUP, form(password1=password, password2=password,
                                          username="tulip-harbour", email="x@example.test"))  # fmt: skip
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not get_user_model().objects.exists()


def test_passwords_must_match() -> None:
    response = Client().post(SIGNUP, form(password2=PASSWORD + "x"))
    assert response.status_code == 400 and "didn’t match" in response.content.decode()


def test_duplicate_username_and_email_are_refused_whatever_the_case() -> None:
    signed_up("ann", "Ann Lee")
    response = Client().post(SIGNUP, form(username="ANN", email="new@example.test"))
    assert response.status_code == 400 and "cannot be used" in response.content.decode()
    response = Client().post(SIGNUP, form(username="ann2", email="ANN@example.test"))
    assert response.status_code == 400 and "cannot be used" in response.content.decode()  # the same answer
    assert get_user_model().objects.count() == 1


def test_consent_is_required() -> None:
    response = Client().post(SIGNUP, form(consent=None))
    assert response.status_code == 400 and "consent" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_sign_up_creates_the_account_consent_and_person_and_waits_for_photos(settings) -> None:
    client = Client()
    response = client.post(SIGNUP, form())
    assert response.status_code == 302 and response["Location"] == reverse("accounts:capture")
    user = get_user_model().objects.get(username="ann")
    assert user.email == "ann@example.test" and user.first_name == "Ann Lee"
    assert user.password.startswith(("pbkdf2_", "argon2", "scrypt")) and PASSWORD not in user.password
    assert user.check_password(PASSWORD) and not user.is_staff
    consent = Consent.objects.get(user=user)
    assert consent.text == settings.CONSENT_TEXT and consent.version == settings.CONSENT_VERSION
    assert consent.given_at is not None and consent.withdrawn_at is None
    person = Person.objects.get(user=user)
    assert person.display_name == "Ann Lee"
    # Not logged in until the photos are enrolled; only the capture page is open to the pending account.
    assert client.session[PENDING] == user.pk and "_auth_user_id" not in client.session
    assert client.get(reverse("accounts:capture")).status_code == 200
    assert client.get(reverse("accounts:profile")).status_code == 302  # to the login page
    assert client.get("/live/").status_code == 302


def test_two_people_with_the_same_name_get_two_persons() -> None:
    first, second = signed_up("ann", "Ann Lee"), signed_up("ann2", "Ann Lee")
    assert Person.objects.get(user=first).pk != Person.objects.get(user=second).pk
    assert Person.objects.filter(display_name="Ann Lee").count() == 2


def test_signup_closed(settings) -> None:
    settings.SIGNUP_OPEN = False
    assert Client().get(SIGNUP).status_code == 404
    assert "Sign up" not in Client().get("/accounts/login/").content.decode()


def test_consent_of_a_new_version_replaces_the_old_one(settings) -> None:
    user = signed_up()
    old = Consent.objects.get(user=user)
    assert services.record_consent(user) == old  # the same text and version again: nothing new
    new = services.record_consent(user, text="new text", version="2")
    old.refresh_from_db()
    assert old.withdrawn_at is not None and new.active and new.version == "2"
    assert services.active_consent(user) == new


def test_operator_group_exists_and_roles_are_told_apart(staff) -> None:
    assert Group.objects.filter(name=OPERATOR_GROUP).exists()  # the data migration
    member = signed_up()
    operator = signed_up("olga", "Olga")
    operator.groups.add(Group.objects.get(name=OPERATOR_GROUP))
    assert not is_operator(member) and is_operator(operator) and is_operator(staff)
    assert "member" in client_for(member).get("/accounts/profile/").content.decode()
    assert "operator" in client_for(operator).get("/accounts/profile/").content.decode()


def test_members_get_403_on_staff_pages_and_staff_api() -> None:
    client = client_for(signed_up())
    assert client.get("/recognition/upload/").status_code == 403
    assert client.get("/recognition/images/1/").status_code == 403
    assert client.get("/api/v1/enrollments/").status_code == 403
