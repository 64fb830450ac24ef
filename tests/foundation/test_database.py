"""The database is a real PostgreSQL with pgvector, set up by the project's own migration."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_pgvector_extension_is_installed_by_migration() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert row is not None, "the vector extension was not created by the migrations"


@pytest.mark.django_db
def test_cosine_distance_is_computed_by_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector, '[1,1,0]'::vector <=> '[2,2,0]'::vector")
        orthogonal, parallel = cursor.fetchone()
    assert orthogonal == pytest.approx(1.0)
    assert parallel == pytest.approx(0.0, abs=1e-6)


@pytest.mark.django_db
def test_database_is_postgres_18_from_the_wheel_or_external() -> None:
    assert connection.vendor == "postgresql"
    assert connection.pg_version >= 130000


@pytest.mark.django_db(transaction=True)
def test_request_threads_share_a_bounded_pool_of_connections(settings) -> None:
    """Under daphne each request's ORM work runs in a thread of its own: 16 at once must share the process's
    pool (DB_POOL_MAX_SIZE connections at most), not open a connection each."""
    import threading
    import time

    from django.db import connections

    assert settings.DB_POOL_MAX_SIZE > 0 and connection.pool is not None

    def request() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.2)")
        finally:
            connections["default"].close()  # what Django does when a request ends: back to the pool

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    seen = []
    while any(thread.is_alive() for thread in threads):
        seen.append(backends())
        time.sleep(0.05)
    assert max(seen) <= settings.DB_POOL_MAX_SIZE, seen
    assert max(seen) >= 2, "the requests did not run at the same time"
