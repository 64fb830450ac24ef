"""Users and logged-in clients for tests: one way to make each, so a test says who acts, not how to log in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

PASSWORD = "a-long-test-password"


def make_user(
    username: str,
    *,
    password: str | None = None,
    staff: bool = False,
    superuser: bool = False,
    groups: tuple[str, ...] = (),
    recognition_permissions: bool = False,
) -> AbstractUser:
    """A user. Without a password it has an unusable one: no slow hashing for the many tests that force_login;
    a test that logs in through a form passes password=PASSWORD."""
    model = get_user_model()
    make = model.objects.create_superuser if superuser else model.objects.create_user
    user = make(username, f"{username}@example.test", password, is_staff=staff or superuser)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if recognition_permissions:
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label="recognition"))
        user = model.objects.get(pk=user.pk)  # drop the permission cache
    return user


def session_client(user: AbstractUser | None = None) -> Client:
    """Django's test client, logged in as user (a session cookie, as a browser has) unless user is None."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_client(user: AbstractUser | None = None) -> APIClient:
    """DRF's test client, authenticated as user without a token or a session unless user is None."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def token_client(user: AbstractUser) -> APIClient:
    """DRF's test client sending user's API token, as a script or a kiosk does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client
