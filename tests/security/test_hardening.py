"""Smaller leaks and gaps (issue 14, finding 8): secrets on disk, sign-up, the token endpoint, password spraying,
staff permissions in the API and the threshold, and the health websocket."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


def test_a_local_secret_is_never_readable_by_others(tmp_path: Path, monkeypatch) -> None:
    """Created 0600 in one step: even where chmod after the write would fail (or be too late), and at umask 0."""
    from facesite.settings import _local_secret

    def chmod_fails(self, mode, **kwargs):
        raise PermissionError("this filesystem refuses chmod")

    monkeypatch.setattr(Path, "chmod", chmod_fails)
    previous = os.umask(0)
    try:
        value = _local_secret("secret_key", tmp_path)
    finally:
        os.umask(previous)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == value and len(value) >= 48
    assert _local_secret("secret_key", tmp_path) == value  # kept
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no draft left behind


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
