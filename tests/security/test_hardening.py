"""Smaller leaks and gaps (issue 14, finding 8): secrets on disk, sign-up, the token endpoint, password spraying,
staff permissions in the API and the threshold, and the health websocket."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


def test_a_local_secret_is_never_readable_by_others(tmp_path: Path, monkeypatch) -> None:
    """Created 0600 in one step: even where chmod after the write would fail (or be too late), and at umask 0."""
    from facesite.settings import _local_secret

    def chmod_fails(self, mode, **kwargs):
        raise PermissionError("this filesystem refuses chmod")

    monkeypatch.setattr(Path, "chmod", chmod_fails)
    previous = os.umask(0)
    try:
        value = _local_secret("secret_key", tmp_path)
    finally:
        os.umask(previous)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == value and len(value) >= 48
    assert _local_secret("secret_key", tmp_path) == value  # kept
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no draft left behind


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- sign-up -----------------------------------------------------------------------------------------------
SIGNUP = "/accounts/signup/"
PASSWORD = "Tulip-Harbour-7319"


def signup_form(**overrides) -> dict:
    data = {"first_name": "Ann Lee", "username": "ann", "email": "ann@example.test",
            "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}  # fmt: skip
    return {**data, **overrides}


def answer(response) -> str:
    """The page's errors, as a visitor reads them (the rest of the page is the same form)."""
    import re

    return " | ".join(re.findall(r'class="error"[^>]*>(.*?)</', response.content.decode(), re.S))


@pytest.mark.django_db
def test_sign_up_answers_a_taken_username_and_a_taken_email_alike() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    get_user_model().objects.create_user("ann", "ann@example.test", PASSWORD)
    taken_username = Client().post(SIGNUP, signup_form(username="ANN", email="new@example.test"))
    taken_email = Client().post(SIGNUP, signup_form(username="ann2", email="Ann@Example.test"))
    assert taken_username.status_code == taken_email.status_code == 400
    assert answer(taken_username) == answer(taken_email) != ""  # nothing tells which one exists
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_sign_up_is_throttled_per_address(settings) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.SIGNUP_ATTEMPTS_PER_HOUR = 3
    statuses = [Client().post(SIGNUP, signup_form(username=f"u{n}", email=f"u{n}@example.test",
                                                  consent="")).status_code for n in range(4)]  # fmt: skip
    assert statuses == [400, 400, 400, 429]
    refused = Client().post(SIGNUP, signup_form())  # even a good one, from that address, for the hour
    assert refused.status_code == 429 and "Too many sign-up attempts" in refused.content.decode()
    assert not get_user_model().objects.exists()
    elsewhere = Client(REMOTE_ADDR="198.51.100.7").post(SIGNUP, signup_form())
    assert elsewhere.status_code == 302


# --- the token endpoint and password spraying ----------------------------------------------------------------
TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"


@pytest.mark.django_db
def test_the_token_endpoint_is_throttled_per_address(monkeypatch) -> None:
    from rest_framework.test import APIClient
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES,
                                                               "auth": "3/minute"})  # fmt: skip
    client = APIClient()
    statuses = [client.post(TOKEN, {"username": f"nobody{n}", "password": "guess"}).status_code
                for n in range(4)]  # fmt: skip
    assert statuses == [400, 400, 400, 429]
    throttled = client.post(TOKEN, {"username": "x", "password": "y"})
    assert throttled.json()["error"] == "throttled" and "Retry-After" in throttled


@pytest.mark.django_db
def test_password_spraying_locks_the_address_out(settings) -> None:
    """One password tried against many usernames never trips the per-username limit; the address limit does."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    for n in range(8):
        get_user_model().objects.create_user(f"user{n}", password=PASSWORD)
    get_user_model().objects.create_user("zoe", password=PASSWORD)
    sprayer = Client()
    statuses = [sprayer.post(LOGIN, {"username": f"user{n}", "password": "Summer2026!"}).status_code
                for n in range(8)]  # fmt: skip
    assert statuses[:7] == [200] * 7 and statuses[7] == 429
    # locked out from this address, even with a right password, for any account...
    assert sprayer.post(LOGIN, {"username": "zoe", "password": PASSWORD}).status_code == 429
    # ... and the sprayer's own good login does not wipe the count
    assert Client().post(LOGIN, {"username": "zoe", "password": PASSWORD}).status_code == 429
    # other addresses are not affected
    assert Client(REMOTE_ADDR="198.51.100.7").post(LOGIN, {"username": "zoe", "password": PASSWORD}).status_code == 302


# --- staff permissions -----------------------------------------------------------------------------------
@pytest.fixture
def clerk(db):
    """Staff without any model permission: may open the admin, may not change identities."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True)


def grant(user, *codenames: str):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="recognition",
                                                         codename__in=codenames))  # fmt: skip
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user.pk)  # permissions are cached on the object


@pytest.mark.django_db
def test_api_staff_changes_need_the_model_permission(clerk, settings, tmp_path) -> None:
    from rest_framework.test import APIClient

    from recognition.models import Person

    settings.MEDIA_ROOT = tmp_path / "media"
    person = Person.objects.create(display_name="Ada", slug="ada")
    client = APIClient()
    client.force_authenticate(clerk)
    assert client.post("/api/v1/persons/", {"display_name": "Bob"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/persons/{person.pk}/", {"notes": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/persons/{person.pk}/").status_code == 403
    assert client.get("/api/v1/enrollments/").status_code == 403
    assert Person.objects.get(pk=person.pk).deleted_at is None and Person.objects.count() == 1

    client.force_authenticate(grant(clerk, "add_person", "change_person"))
    assert client.post("/api/v1/persons/", {"display_name": "Bob"}, format="json").status_code == 201
    assert client.patch(f"/api/v1/persons/{person.pk}/", {"notes": "x"}, format="json").status_code == 200
    assert client.delete(f"/api/v1/persons/{person.pk}/").status_code == 403  # delete is its own permission
    client.force_authenticate(grant(clerk, "delete_person", "view_enrollment"))
    assert client.delete(f"/api/v1/persons/{person.pk}/").status_code == 204
    assert client.get("/api/v1/enrollments/").status_code == 200


@pytest.mark.django_db
def test_changing_the_threshold_needs_its_own_permission(clerk) -> None:
    from django.test import Client

    from recognition.models import PackSettings

    before = {row.pack: row.threshold for row in PackSettings.objects.all()}
    client = Client()
    client.force_login(grant(clerk, "change_packsettings", "view_packsettings"))
    assert client.post("/recognition/calibration/", {"pack": "arcface", "target_far": "0.001"}).status_code == 403
    assert {row.pack: row.threshold for row in PackSettings.objects.all()} == before
    row = PackSettings.objects.get(pack="arcface")
    page = client.get(f"/admin/recognition/packsettings/{row.pk}/change/")
    assert page.status_code == 200 and 'name="threshold"' not in page.content.decode()  # read-only to them
    client.force_login(grant(clerk, "change_threshold"))
    page = client.get(f"/admin/recognition/packsettings/{row.pk}/change/")
    assert 'name="threshold"' in page.content.decode()


# --- the health websocket ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_health_socket_does_not_query_per_message(monkeypatch) -> None:
    """Many sockets, many messages: the status is computed about once a second, not once per message."""
    import asyncio

    from channels.testing import WebsocketCommunicator

    from facesite import consumers
    from facesite.asgi import application

    computed = []
    real = consumers.platform_status
    monkeypatch.setattr(consumers, "platform_status", lambda: computed.append(1) or real())  # counts, then real
    monkeypatch.setitem(consumers._status_cache, "at", float("-inf"))

    async def crowd() -> list[dict]:
        sockets = [WebsocketCommunicator(application, "/ws/health/", headers=[(b"origin", b"http://localhost")])
                   for _ in range(8)]  # fmt: skip
        for socket in sockets:
            assert (await socket.connect())[0]
        replies = []
        for n in range(3):
            for socket in sockets:
                await socket.send_json_to({"n": n})
            replies += [await socket.receive_json_from(timeout=10) for socket in sockets]
        for socket in sockets:
            await socket.disconnect()
        return replies

    replies = asyncio.run(crowd())
    assert len(replies) == 24 and all(r["status"]["database"]["ok"] for r in replies)
    assert len(computed) <= 2  # 24 messages within about a second
