"""facesite.settings_production: `manage.py check --deploy` is clean, and a missing SECRET_KEY stops the start
with one clear line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.support.services import REPO

PRODUCTION = "facesite.settings_production"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")}
    environment.update(DJANGO_SETTINGS_MODULE=PRODUCTION, PYTHONUNBUFFERED="1", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="faces.example.org",
        DEBUG="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_hold_what_they_promise() -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, "
        "s.CSRF_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER)"
    )
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    environment.update(
        DJANGO_SETTINGS_MODULE=PRODUCTION,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="true",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "False True True True True True True ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_missing_secret_key_fails_at_start_with_a_clear_message(tmp_path) -> None:
    result = manage("check", FACESITE_VAR_DIR=str(tmp_path / "var"))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: SECRET_KEY is not set: production")
    assert not (tmp_path / "var" / "secret_key").exists()  # no key was generated in its place
