"""Fixtures shared by the whole suite: the embedded PostgreSQL, real Redis/Celery/daphne subprocesses, Chromium,
users and logged-in clients (built with tests/support)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from rest_framework.test import APIClient

from tests.support.services import (  # noqa: F401 - also imported from here by older test modules
    REPO,
    Daphne,
    free_port,
    service_env,
    start_python,
    stop_process,
    test_database_url,
    wait_for_port,
)
from tests.support.users import api_client, make_user, session_client

SHARED_FACES = REPO.parent / "shared" / "data" / "faces"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """The test database lives on the platform's own PostgreSQL unless DATABASE_URL points elsewhere."""
    from django.conf import settings

    # One test database per test run, so two runs on one machine (a developer and a helper) never collide.
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_facesite_{os.getpid()}"
    # Threads of this process (sync_to_async) must not keep connections that would block dropping the test DB.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

    if settings.EMBEDDED_POSTGRES:
        from facesite.local.postgres import EmbeddedPostgres

        # Left running afterwards, like a development database: another test run may be using it.
        EmbeddedPostgres.from_settings().ensure_running()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """Before pytest-django creates the test database: Django keeps one connection pool per alias, made on first
    use and not remade when the test database's NAME replaces the configured one, so a pool opened earlier (a
    test outside the database that still touched a connection) would send every query to the development
    database. Close such pools; the next use makes one for the test database."""
    from django.db import connections

    for connection in connections.all():
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


@pytest.fixture(scope="session")
def faces_data() -> Path:
    if not SHARED_FACES.is_dir():
        pytest.skip(f"real face data not found at {SHARED_FACES} (it sits beside the repo as ../shared)")
    return SHARED_FACES


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server of its own for the session (port chosen free, data in a temp folder)."""
    from facesite.local.redis import EmbeddedRedis

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make test installs it: apt-get install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="facesite-redis-"))
    server = EmbeddedRedis(root=root, port=free_port())
    server.ensure_running()
    yield server.url
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _erasure_ledger(tmp_path: Path, settings) -> None:
    """Erasures made by tests are appended to a ledger of the test's own, never to var/'s."""
    settings.ERASURE_LEDGER = tmp_path / "erasure-ledger" / "erasures.jsonl"


@pytest.fixture
def media_root(tmp_path: Path, settings) -> Path:
    """MEDIA_ROOT for this test, shared by the test process and the service subprocesses it starts."""
    root = tmp_path / "media"
    root.mkdir(exist_ok=True)
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def celery_worker_process(transactional_db, redis_url: str, media_root: Path,
                          tmp_path: Path) -> Iterator[subprocess.Popen]:  # fmt: skip
    """A real Celery worker subprocess on the session's Redis, using the test database."""
    args = ["-m", "celery", "-A", "facesite", "worker", "--pool", "solo", "-Q", "celery,enroll",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    env = service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url, FACESITE_MEDIA_ROOT=str(media_root))
    process = start_python(args, env, tmp_path / "worker.log")
    yield process
    stop_process(process)


@pytest.fixture
def start_daphne(media_root: Path, tmp_path: Path) -> Iterator[Callable[..., Daphne]]:
    """start_daphne(**env) -> a running Daphne, stopped after the test. By default it serves the test database
    (ask for transactional_db so that it sees this test's rows) and this test's MEDIA_ROOT; env adds to or
    overrides the subprocess's environment, a None removes the variable. The first one logs to
    tmp_path/daphne.log, later ones to daphne-1.log, daphne-2.log..."""
    started: list[Daphne] = []

    def start(**env: str | None) -> Daphne:
        defaults = {"DATABASE_URL": test_database_url(), "FACESITE_MEDIA_ROOT": str(media_root)}
        log_name = f"daphne-{len(started)}.log" if started else "daphne.log"
        daphne = Daphne(service_env(**(defaults | env)), tmp_path / log_name)
        started.append(daphne)
        return daphne.start()

    yield start
    for daphne in started:
        daphne.stop()


@pytest.fixture
def daphne_server(transactional_db, start_daphne: Callable[..., Daphne]) -> str:
    """daphne serving the platform on a free port against the test database; its base URL."""
    return start_daphne().url


@pytest.fixture
def redis_daphne_server(transactional_db, redis_url: str, settings, start_daphne: Callable[..., Daphne]) -> str:
    """daphne on the Redis channel layer, which this process shares: a group_send here (an attendance event
    recorded in the test) reaches the sockets open there. Its base URL."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    return start_daphne(REDIS_URL=redis_url).url


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download). Function-scoped: while Playwright's
    loop runs, Django's ORM refuses sync calls, so tests create their data before asking for the browser."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def _release_test_database(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Connections left open by worker threads (sync_to_async) would stop the test database from being dropped
    at the end; end them first."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        connection.close()
        if connection.pool is not None:
            connection.close_pool()  # pooled connections end cleanly rather than being terminated below
        with connection._nodb_cursor() as cursor:  # not the test database, not pooled
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [connection.settings_dict["NAME"]],
            )


@pytest.fixture
def staff(db) -> AbstractUser:
    """An administrator: staff with every permission (the admin pages need model permissions)."""
    return make_user("boss", superuser=True)


@pytest.fixture
def staff_client(staff: AbstractUser) -> Client:
    """A browser session logged in as `staff` (tests/api overrides it with an API token client)."""
    return session_client(staff)


@pytest.fixture
def staff_api_client(staff: AbstractUser) -> APIClient:
    """DRF's test client authenticated as `staff` (no token, no session: the API's own checks only)."""
    return api_client(staff)


@pytest.fixture
def member(db) -> AbstractUser:
    """A plain account: no staff flag, no role."""
    return make_user("member")


@pytest.fixture
def member_client(member: AbstractUser) -> Client:
    return session_client(member)
