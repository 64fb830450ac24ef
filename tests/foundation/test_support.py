"""The test plumbing itself (tests/support): the environment services get, the users the fixtures make, and a
daphne that fails to start saying why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.services import Daphne, service_env
from tests.support.users import PASSWORD, make_user, session_client


def test_service_env_adds_overrides_and_removes(monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    monkeypatch.setenv("FACESITE_MEDIA_ROOT", "/srv/media")
    env = service_env(FACESITE_MEDIA_ROOT="/tmp/m", REDIS_URL=None, LIVE_RECOGNIZE_EVERY="2")
    assert (env["DJANGO_SETTINGS_MODULE"], env["PYTHONUNBUFFERED"]) == ("facesite.settings", "1")
    assert (env["FACESITE_MEDIA_ROOT"], env["LIVE_RECOGNIZE_EVERY"]) == ("/tmp/m", "2")
    assert "REDIS_URL" not in env
    assert env["PATH"] == os.environ["PATH"]  # the rest is this process's


@pytest.mark.django_db
def test_make_user_gives_each_role_what_it_says() -> None:
    boss = make_user("boss", superuser=True, password=PASSWORD)
    clerk = make_user("clerk", staff=True)
    editor = make_user("editor", staff=True, recognition_permissions=True)
    kiosk = make_user("kiosk", groups=("operator",))
    assert (boss.is_staff, boss.is_superuser, boss.check_password(PASSWORD)) == (True, True, True)
    assert (clerk.is_staff, clerk.is_superuser, clerk.has_perm("recognition.change_person")) == (True, False, False)
    assert editor.has_perm("recognition.change_person") and not editor.is_superuser
    assert list(kiosk.groups.values_list("name", flat=True)) == ["operator"] and not kiosk.has_usable_password()
    assert session_client(clerk).get("/admin/").status_code == 200  # logged in: the admin index, not a redirect
    assert session_client().get("/admin/").status_code == 302


def test_the_root_fixtures_are_an_administrator_and_a_plain_member(staff, staff_client, member, member_client):
    assert (staff.username, staff.is_superuser, member.username, member.is_staff) == ("boss", True, "member", False)
    assert staff_client.get("/admin/").status_code == 200
    assert member_client.get("/admin/").status_code == 302  # not staff: to the admin's login page


@pytest.mark.services
def test_a_daphne_that_cannot_start_fails_with_its_log(tmp_path: Path) -> None:
    empty = tmp_path / "no-weights"
    empty.mkdir()
    daphne = Daphne(service_env(FACESITE_MODELS_DIR=str(empty), FACESITE_MEDIA_ROOT=str(tmp_path)), tmp_path / "d.log")
    with pytest.raises(RuntimeError, match="daphne did not start: process exited") as failed:
        daphne.start()
    assert "facesite cannot start:" in str(failed.value) and not daphne.running()
