"""Writes that matter for accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str | None  # None when it came from the environment (never echoed back)


def ensure_first_admin(username: str, email: str, password: str = "") -> FirstAdmin | None:
    """Create the first superuser when none exists; returns what was created, or None if one already exists.

    With no password given a random one is generated; the caller shows it once.
    """
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    generated = not password
    password = password or secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username=username, email=email, password=password)
    return FirstAdmin(username=username, password=password if generated else None)
