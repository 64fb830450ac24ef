"""PostgreSQL going away: requests answer 503 "try again" (not 500, not a hang) and recover by themselves.

The middleware is checked in-process first; then a scratch PostgreSQL cluster of its own serves a daphne
process, is stopped and started again, and the same daphne process serves normally afterwards.
"""

from __future__ import annotations

import http.cookiejar
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from facesite.local.postgres import EmbeddedPostgres
from tests.support.services import REPO, free_port, service_env

URLCONF = "tests.reliability.urls"


@pytest.fixture
def client(settings) -> Client:
    settings.ROOT_URLCONF = URLCONF
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("path", ["/test/refused/", "/test/closed/"])
def test_a_database_error_in_a_view_is_a_503_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html") and response["Retry-After"]
    assert b"database is unavailable" in response.content and b"Traceback" not in response.content


def test_api_clients_get_the_api_error_shape(client: Client) -> None:
    response = client.get("/api/test/refused/")
    assert response.status_code == 503
    assert response.json() == {
        "error": "database_unavailable",
        "status": 503,
        "message": response.json()["message"],
    }
    assert client.get("/test/refused/", HTTP_ACCEPT="application/json").json()["error"] == "database_unavailable"


@pytest.mark.django_db
def test_a_database_error_after_the_view_in_a_middleware_is_a_503_too(client: Client, monkeypatch) -> None:
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    def refused(self, must_create=False):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SessionStore, "save", refused)
    response = client.get("/test/session/")
    assert response.status_code == 503 and b"database is unavailable" in response.content


def test_other_errors_stay_500(client: Client) -> None:
    assert client.get("/test/bug/").status_code == 500


def test_connections_give_up_after_a_timeout() -> None:
    assert django_settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] == django_settings.DB_CONNECT_TIMEOUT_S


# --- a real outage ------------------------------------------------------------------------------------------
class Browser:
    """urllib with cookies and a timeout: a request that hangs fails the test instead of blocking it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict | None = None, accept: str = "text/html") -> tuple[int, bytes]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Accept": accept, "Referer": self.base + path}
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)

    def log_in(self, username: str, password: str) -> None:
        status, _ = self.request("/admin/login/")
        assert status == 200
        status, _ = self.request("/admin/login/?next=/admin/", {
            "username": username, "password": password, "next": "/admin/",
            "csrfmiddlewaretoken": self.cookie("csrftoken"),
        })  # fmt: skip
        assert status == 200 and self.cookie("sessionid")


@pytest.fixture
def cluster() -> Iterator[EmbeddedPostgres]:
    # Under var/ (not /tmp/pytest-of-root, which is 0700) so the unprivileged postgres user can reach it.
    root = Path(tempfile.mkdtemp(prefix="test-outage-", dir=django_settings.VAR_DIR))
    postgres = EmbeddedPostgres(root=root / "pg", port=free_port(), password="outage-test",
                                os_user=django_settings.EMBEDDED_PG_USER)  # fmt: skip
    postgres.ensure_running()
    yield postgres
    postgres.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.services
def test_postgres_restart_gives_503_then_recovers_in_the_same_web_process(
    cluster: EmbeddedPostgres, start_daphne
) -> None:
    env = {
        "DATABASE_URL": cluster.url,
        "ADMIN_USERNAME": "boss",
        "ADMIN_PASSWORD": "a-long-outage-password",
        "DB_CONNECT_TIMEOUT_S": "2",
    }
    for command in (["migrate", "-v0"], ["ensure_admin"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=service_env(**env),
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    daphne = start_daphne(**env)
    browser = Browser(daphne.url)
    browser.log_in("boss", "a-long-outage-password")
    pages = {
        "/healthz": "application/json",
        "/attendance/": "text/html",
        "/api/v1/persons/": "application/json",
    }
    assert {path: browser.request(path, accept=a)[0] for path, a in pages.items()} == dict.fromkeys(pages, 200)

    cluster.stop()
    down = {path: browser.request(path, accept=a) for path, a in pages.items()}
    assert {path: status for path, (status, _) in down.items()} == dict.fromkeys(pages, 503), daphne.log()
    assert json.loads(down["/healthz"][1])["database"]["ok"] is False
    assert b"database is unavailable" in down["/attendance/"][1]
    assert json.loads(down["/api/v1/persons/"][1])["error"] == "database_unavailable"

    cluster.ensure_running()
    assert {path: browser.request(path, accept=a)[0] for path, a in pages.items()} == dict.fromkeys(pages, 200)
    assert daphne.running()  # the same process, never restarted
    assert "Traceback" not in daphne.log()
