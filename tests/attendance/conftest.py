"""Fixtures of the attendance tests: settings for each test, people with and without accounts, the roles."""

from __future__ import annotations

import pytest

from tests.attendance.factories import make_person, make_user


@pytest.fixture(autouse=True)
def attendance_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TIME_ZONE = "UTC"
    settings.ATTENDANCE_COOLDOWN_S = 300
    settings.ATTENDANCE_CHECKOUT_GAP_S = 3600
    settings.ATTENDANCE_EXIT_SOURCES = ["exit"]
    settings.ATTENDANCE_EVIDENCE_PX = 96
    settings.EVIDENCE_RETENTION_DAYS = 30
    settings.ATTENDANCE_ANONYMISE_ON_ERASURE = True
    # a fresh in-memory layer for every test
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return settings


@pytest.fixture
def people(db):
    """Members alice and bob (each linked to a person), carol (no account), an operator, a staff user."""
    alice_user, bob_user = make_user("alice"), make_user("bob")
    return {
        "alice": make_person("Alice Archer", alice_user),
        "bob": make_person("Bob Baker", bob_user),
        "carol": make_person("Carol Cole"),
        "alice_user": alice_user,
        "bob_user": bob_user,
        "operator": make_user("olga", operator=True),
        "staff": make_user("sam", staff=True),
    }
