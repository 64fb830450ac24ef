"""Building blocks of the attendance tests: aware times, a frame with a face box, people and role users."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from recognition.models import Person

UTC = ZoneInfo("UTC")
BOX = np.array([60.0, 40.0, 140.0, 150.0], dtype=np.float32)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def frame(seed: int = 0) -> np.ndarray:
    """A 240x200 BGR frame with texture, so the JPEG crop is a real image."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, size=(240, 200, 3), dtype=np.uint8)


def make_person(name: str, user=None) -> Person:
    return Person.objects.create(display_name=name, slug=name.lower().replace(" ", "-"), user=user)


def make_user(username: str, *, staff: bool = False, operator: bool = False):
    user = get_user_model().objects.create_user(username, f"{username}@example.test", "a-long-test-password")
    if staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if operator:
        user.groups.add(Group.objects.get_or_create(name="operator")[0])
    return user
