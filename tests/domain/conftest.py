"""The domain is tested without Django: the root conftest's autouse fixtures (Django settings, the test
database) are replaced here by fixtures that do nothing, so no test below this folder touches Django."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _erasure_ledger() -> None:
    """No erasure ledger: nothing here erases (the root one needs Django's settings)."""


@pytest.fixture(scope="session", autouse=True)
def _release_test_database() -> None:
    """No test database to release: nothing here opens one."""
