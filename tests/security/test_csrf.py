"""CSRF: every POST form on the main pages carries the token, and a POST without it is refused (403)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.conftest import World

TOKEN = "csrfmiddlewaretoken"


class Forms(HTMLParser):
    """(method, action, has the CSRF token) of every <form> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list] = []
        self.open = False

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append([(attrs.get("method") or "get").lower(), attrs.get("action"), False])
            self.open = True
        elif tag == "input" and self.open and attrs.get("name") == TOKEN and attrs.get("value"):
            self.forms[-1][2] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.open = False


def pages(w: World) -> list[tuple[str, str]]:
    """(role, url) of the main pages, each for a role that can see it."""
    return [
        ("anonymous", reverse("home")),
        ("anonymous", reverse("login")),
        ("anonymous", reverse("accounts:signup")),
        ("anonymous", reverse("password_reset")),
        ("anonymous", reverse("admin:login")),
        ("member", reverse("home")),
        ("member", reverse("accounts:profile")),
        ("member", reverse("accounts:erase")),
        ("member", reverse("accounts:capture")),
        ("member", reverse("live")),
        ("member", reverse("attendance:history")),
        ("member", reverse("password_change")),
        ("operator", reverse("attendance:today")),
        ("operator", reverse("live")),
        ("admin", reverse("recognition:upload")),
        ("admin", reverse("recognition:batch", args=[w.batch.pk])),
        ("admin", reverse("recognition:calibration")),
        ("admin", reverse("admin:index")),
        ("admin", reverse("admin:recognition_person_changelist")),
        ("admin", reverse("admin:recognition_person_change", args=[w.person.pk])),
        ("admin", reverse("admin:recognition_faceimage_changelist")),
        ("admin", reverse("admin:recognition_packsettings_changelist")),
        ("admin", reverse("admin:auth_user_add")),
    ]


@pytest.mark.django_db
def test_every_post_form_carries_the_csrf_token(world: World) -> None:
    missing, post_forms = [], 0
    for role, url in pages(world):
        response = world.client(role).get(url)
        assert response.status_code == 200, f"{url} as {role}: {response.status_code}"
        parser = Forms()
        parser.feed(response.content.decode())
        for method, action, has_token in parser.forms:
            if method == "post":
                post_forms += 1
                if not has_token:
                    missing.append(f"{url} as {role}: form posting to {action or 'itself'} has no {TOKEN}")
    assert not missing, "\n".join(missing)
    assert post_forms >= 15  # the walk really saw the forms (login, sign-up, profile, upload, admin, ...)


def strict(world: World, role: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    if world.users[role] is not None:
        client.force_login(world.users[role])
    return client


@pytest.mark.django_db
def test_a_post_without_the_token_is_refused(world: World) -> None:
    posts = [
        ("anonymous", reverse("login"), {"username": "ann", "password": "x"}),
        ("anonymous", reverse("accounts:signup"), {"username": "zed"}),
        ("member", reverse("logout"), {}),
        ("member", reverse("accounts:consent"), {"agree": "on"}),
        ("member", reverse("accounts:erase"), {"confirm": "yes"}),
        ("member", reverse("accounts:token_create"), {}),
        ("member", reverse("accounts:photo_remove", args=[world.image.pk]), {}),
        ("member", reverse("accounts:capture_start"), {"mode": "add"}),
        ("member", reverse("password_change"), {}),
        ("admin", reverse("recognition:upload"), {}),
        ("admin", reverse("recognition:calibration"), {"pack": "arcface"}),
        (
            "admin",
            reverse("admin:recognition_person_changelist"),
            {"action": "move_to_recycle_bin", "_selected_action": [world.person.pk]},
        ),
        ("admin", "/api/v1/persons/", {"display_name": "Session Without Token"}),  # DRF session auth
    ]
    accepted = []
    for role, url, data in posts:
        response = strict(world, role).post(url, data)
        if response.status_code != 403:
            accepted.append(f"POST {url} as {role} without a token: {response.status_code}")
    assert not accepted, "\n".join(accepted)
    assert world.person.images.filter(status="enrolled").exists()  # nothing was changed
    # ...and the same form with its token goes through
    client = strict(world, "member")
    token = client.get(reverse("accounts:profile")).cookies["csrftoken"].value
    assert client.post(reverse("accounts:token_create"), {TOKEN: token}).status_code == 302
