"""Login throttling (django-axes: username + address) and API rate limits (DRF throttles -> 429 JSON)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.security.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture
def ann():
    return make_user("ann", PASSWORD)


def bad_logins(client: Client, n: int, **extra) -> list[int]:
    return [
        client.post(LOGIN, {"username": "ann", "password": f"wrong-{i}"}, **extra).status_code
        for i in range(n)
    ]


def test_failed_logins_lock_the_account_from_that_address(ann) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    statuses = bad_logins(client, limit)
    assert statuses[:-1] == [200] * (limit - 1)  # the login form again, with its error
    assert statuses[-1] == 429
    locked = client.post(LOGIN, {"username": "ann", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Account locked: too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session  # the right password did not log in
    # a made-up X-Forwarded-For does not give the guesser a fresh address (no trusted proxy is configured)
    spoofed = client.post(
        LOGIN, {"username": "ann", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert spoofed.status_code == 429
    # the API's token endpoint refuses the locked account too
    token = APIClient().post("/api/v1/auth/token/", {"username": "ann", "password": PASSWORD})
    assert token.status_code in (400, 429) and "token" not in token.json()


def test_the_lockout_is_per_username_and_address(ann) -> None:
    bad_logins(Client(), settings.AXES_FAILURE_LIMIT)
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post(LOGIN, {"username": "ann", "password": PASSWORD}).status_code == 302
    make_user("bea", PASSWORD)
    assert Client().post(LOGIN, {"username": "bea", "password": PASSWORD}).status_code == 302


def test_a_good_login_resets_the_count(ann) -> None:
    client = Client()
    bad_logins(client, settings.AXES_FAILURE_LIMIT - 1)
    assert client.post(LOGIN, {"username": "ann", "password": PASSWORD}).status_code == 302
    client.logout()
    assert bad_logins(client, settings.AXES_FAILURE_LIMIT - 1) == [200] * (settings.AXES_FAILURE_LIMIT - 1)


def test_the_test_clients_login_still_works(ann) -> None:
    """Code that authenticates without a request (Client.login) is let through to the password check."""
    client = Client()
    assert client.login(username="ann", password=PASSWORD)
    assert not client.login(username="ann", password="wrong")


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads the rates once, at import: lower them on the class for this test only.
    rates = {"anon": "2/minute", "user": "3/minute", "recognition": "2/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    return rates


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_api_over_the_user_rate_answers_429_json(low_rates) -> None:
    client = token_client(make_user("mia"))
    statuses = [client.get("/api/v1/persons/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/persons/")
    assert response.status_code == 429 and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "throttled" and body["status"] == 429 and "Retry-After" in response


def test_identify_and_verify_have_their_own_lower_rate(low_rates) -> None:
    from django.contrib.auth.models import Group

    low_rates["user"] = "100/minute"

    from accounts.roles import OPERATOR_GROUP

    kiosk = make_user("kiosk")
    kiosk.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    client = token_client(kiosk)
    statuses = [client.post("/api/v1/identify/", {}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]  # no image: 400, until the "recognition" scope's 2/minute is spent
    assert client.post("/api/v1/verify/", {}).status_code == 429  # the same scope (and user)
    assert client.get("/api/v1/persons/").status_code == 200  # other endpoints: only the user rate


def test_anonymous_callers_are_throttled_by_address(low_rates) -> None:
    statuses = [APIClient().get("/api/schema/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    spoofed = APIClient().get("/api/schema/", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert spoofed.status_code == 429  # X-Forwarded-For is not trusted without TRUSTED_PROXY_COUNT


def test_default_rates_are_generous() -> None:
    """The shipped rates must not throttle a kiosk or a benchmark: at least 10 recognitions a second."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    per_second = {}
    for scope in ("user", "recognition"):
        requests, seconds = SimpleRateThrottle.parse_rate(None, rates[scope])
        per_second[scope] = requests / seconds
    assert per_second["recognition"] >= 10 and per_second["user"] >= per_second["recognition"]
