"""The domain is tested without Django: the root conftest's autouse fixtures (Django settings, the test
database) are replaced here by fixtures that do nothing, and a test below this folder that asks for a Django
fixture or a database is a collection error."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# (pytest-django's own autouse plumbing, django_db_blocker and the like, blocks the database: not counted.)
DJANGO_FIXTURES = frozenset({
    "db", "transactional_db", "django_db_setup", "settings", "client", "async_client",
    "admin_client", "admin_user", "rf", "async_rf", "live_server", "django_user_model", "mailoutbox",
    "django_capture_on_commit_callbacks", "django_assert_num_queries",
})  # fmt: skip


@pytest.fixture(autouse=True)
def _erasure_ledger() -> None:
    """No erasure ledger: nothing here erases (the root one needs Django's settings)."""


@pytest.fixture(scope="session", autouse=True)
def _release_test_database() -> None:
    """No test database to release: nothing here opens one."""


def django_use(item: pytest.Item) -> list[str]:
    """The Django fixtures and marks a test uses."""
    used = sorted(DJANGO_FIXTURES & set(getattr(item, "fixturenames", ())))
    return used + [f"mark {mark.name}" for mark in item.iter_markers() if mark.name.startswith("django")]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    offenders = [f"{item.nodeid}: {', '.join(used)}" for item in items
                 if item.path.is_relative_to(HERE) and (used := django_use(item))]  # fmt: skip
    if offenders:
        raise pytest.UsageError("tests/domain runs without Django; these use it:\n" + "\n".join(offenders))
