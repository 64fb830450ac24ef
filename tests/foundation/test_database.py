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
