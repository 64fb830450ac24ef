"""The embedded PostgreSQL: first start, restart with data kept, and the bad situations a user can hit."""

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from facesite.local.errors import ServiceError
from facesite.local.postgres import EmbeddedPostgres
from tests.support.services import free_port


@pytest.fixture
def cluster() -> Iterator[EmbeddedPostgres]:
    # Under var/ (not /tmp/pytest-of-root, which is 0700) so the unprivileged postgres user can reach it.
    root = Path(tempfile.mkdtemp(prefix="test-pg-", dir=settings.VAR_DIR))
    postgres = EmbeddedPostgres(root=root / "pg", port=free_port(), password="s3cret-test",
                                os_user=settings.EMBEDDED_PG_USER)  # fmt: skip
    yield postgres
    postgres.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_data_survives_a_restart(cluster: EmbeddedPostgres) -> None:
    cluster.ensure_running()
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")  # made by the admin role already
        conn.execute("CREATE TABLE kept (v vector(3))")
        conn.execute("INSERT INTO kept VALUES ('[1,2,3]')")
    cluster.stop()
    assert not cluster.is_running()
    cluster.ensure_running()
    with psycopg.connect(cluster.url) as conn:
        assert conn.execute("SELECT v::text FROM kept").fetchone() == ("[1,2,3]",)


def test_password_is_required(cluster: EmbeddedPostgres) -> None:
    cluster.ensure_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url.replace("s3cret-test", "wrong")).close()


def test_stale_pid_file_from_a_crash_is_moved_aside_not_deleted(cluster: EmbeddedPostgres) -> None:
    cluster.ensure_running()
    cluster.stop()
    # A crash leaves postmaster.pid behind; after a reboot its pid may belong to an unrelated process (pid 1 here).
    pid_file = cluster.data_dir / "postmaster.pid"
    pid_file.write_text(f"1\n{cluster.data_dir}\n")
    cluster.ensure_running()
    assert cluster.is_running()
    assert (cluster.data_dir / "postmaster.pid.stale").exists()


def test_port_in_use_gives_one_line_saying_what_to_do(cluster: EmbeddedPostgres) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", cluster.port))
        blocker.listen()
        with pytest.raises(ServiceError, match=r"port \d+ .* in use.*FACESITE_PG_PORT="):
            cluster.ensure_running()


def test_unwritable_var_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the var folder should be")
    postgres = EmbeddedPostgres(root=blocker / "pg", port=free_port(), password="x")
    with pytest.raises(ServiceError, match="cannot write to .*FACESITE_VAR_DIR"):
        postgres.ensure_running()


def test_foreign_files_in_the_data_folder_are_never_overwritten(cluster: EmbeddedPostgres) -> None:
    cluster.data_dir.mkdir(parents=True)
    keep = cluster.data_dir / "important.txt"
    keep.write_text("user data")
    with pytest.raises(ServiceError, match="not empty"):
        cluster.ensure_running()
    assert keep.read_text() == "user data"


def test_shared_buffers_auto_is_a_quarter_of_memory_within_bounds() -> None:
    from facesite.local.postgres import shared_buffers

    assert shared_buffers("auto", memory_bytes=24 * 2**30) == "6144MB"
    assert shared_buffers("AUTO", memory_bytes=256 * 2**20) == "128MB"  # never below PostgreSQL's default
    assert shared_buffers("auto", memory_bytes=128 * 2**30) == "8192MB"  # a big host keeps memory for the rest
    assert shared_buffers("2GB") == "2GB"
    assert shared_buffers("auto").endswith("MB")


def test_the_app_role_is_no_superuser_and_still_gets_pgvector(cluster: EmbeddedPostgres) -> None:
    cluster.ensure_running()
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        super_, createdb = conn.execute(
            "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert (super_, createdb) == (False, True)  # databases for the tests, nothing more
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")  # what a superuser's injection would do
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
        conn.execute("CREATE DATABASE made_by_the_app")  # as the test runner does
    with psycopg.connect(cluster.url.rsplit("/", 1)[0] + "/made_by_the_app") as conn:
        assert conn.execute("SELECT '[1,2]'::vector::text").fetchone() == ("[1,2]",)  # from template1
    assert cluster.admin_password_file.stat().st_mode & 0o077 == 0
    cluster.stop()
    cluster.ensure_running()  # a restart keeps the roles as they are
    with psycopg.connect(cluster.url) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
