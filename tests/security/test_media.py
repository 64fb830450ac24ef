"""Biometric images: no URL serves MEDIA_ROOT, files live at paths no uploader chooses, and the views that
stream them (after a permission check) tell every cache not to keep them."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.static import serve as static_serve
from rest_framework.test import APIClient

from recognition.services.enrollment import start_enrollment
from recognition.uploads import UploadItem
from tests.security.conftest import World, jpeg_bytes


def callbacks(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from callbacks(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_no_url_serves_files_from_disk(settings) -> None:
    served = [
        route
        for route, callback in callbacks(get_resolver().url_patterns)
        if callback in (static_serve, staticfiles_serve)
    ]
    assert not served, f"routes that serve files straight from disk: {served}"
    if settings.MEDIA_URL.strip("/"):
        media = settings.MEDIA_URL.strip("/")
        assert not [r for r, _ in callbacks(get_resolver().url_patterns) if r.startswith(media)]


@pytest.mark.django_db
def test_a_stored_face_is_not_reachable_by_its_path(world: World) -> None:
    admin = world.client("admin")
    for prefix in ("/", "/media/"):
        assert admin.get(prefix + world.image.file.name).status_code == 404


@pytest.mark.django_db
def test_stored_names_are_chosen_by_the_server(world: World) -> None:
    hostile = UploadItem("../../etc", "../../../../tmp/evil.php%00.jpg", jpeg_bytes((5, 6, 7)))
    batch = start_enrollment([hostile], source="upload", started_by=world.users["admin"], queue=False)
    (image,) = batch.images.all()
    assert re.fullmatch(r"faces/\d+/[0-9a-f]{2}/[0-9a-f]{64}\.jpg", image.file.name), image.file.name
    assert re.fullmatch(r"evidence/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.jpg", world.event.evidence.name)


@pytest.mark.django_db
def test_image_views_are_never_cached(world: World) -> None:
    checks = [
        ("admin", reverse("recognition:face_image", args=[world.image.pk])),
        ("admin", reverse("recognition:face_image", args=[world.image.pk]) + "?thumb=1"),
        ("member", reverse("accounts:photo", args=[world.image.pk])),
        ("member", reverse("accounts:photo", args=[world.image.pk]) + "?thumb=1"),
        ("member", reverse("attendance:evidence", args=[world.event.pk])),
        ("operator", reverse("attendance:evidence", args=[world.event.pk])),
    ]
    for role, url in checks:
        response = world.client(role).get(url)
        assert response.status_code == 200, (role, url)
        assert response["Content-Type"].startswith("image/"), (role, url)
        assert {"private", "no-store"} <= set(re.split(r",\s*", response["Cache-Control"])), (role, url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)  # read to the end: closes the file
    api = APIClient()
    api.force_authenticate(world.users["member"])
    response = api.get(f"/api/v1/attendance/{world.event.pk}/evidence/", HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    b"".join(response.streaming_content)
