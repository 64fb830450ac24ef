"""The embedded Redis: started and stopped cleanly, and one line saying what to do when it cannot start."""

import shutil
import socket
from pathlib import Path

import pytest

from facesite.local.errors import ServiceError, port_is_open
from facesite.local.redis import EmbeddedRedis
from tests.support.services import free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def test_start_and_stop(tmp_path: Path) -> None:
    server = EmbeddedRedis(root=tmp_path / "redis", port=free_port())
    server.ensure_running()
    assert server.is_running()
    server.ensure_running()  # idempotent
    server.stop()
    assert not port_is_open(server.port)


def test_port_taken_by_something_else(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        server = EmbeddedRedis(root=tmp_path / "redis", port=blocker.getsockname()[1])
        with pytest.raises(ServiceError, match=r"port \d+ .* in use.*FACESITE_REDIS_PORT="):
            server.ensure_running()


def test_redis_that_will_not_start_names_its_log(tmp_path: Path) -> None:
    root = tmp_path / "redis"
    root.mkdir()
    (root / "appendonlydir").write_text("a file where Redis keeps its append-only folder")  # Redis refuses this
    server = EmbeddedRedis(root=root, port=free_port())
    with pytest.raises(ServiceError, match="Redis did not start .*redis.log"):
        server.ensure_running()


def test_missing_redis_server_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on this PATH
    server = EmbeddedRedis(root=tmp_path / "redis", port=free_port())
    with pytest.raises(ServiceError, match="apt-get install redis-server.*REDIS_URL"):
        server.ensure_running()


def test_it_asks_for_a_password_kept_off_the_command_line(tmp_path: Path) -> None:
    import redis

    server = EmbeddedRedis(root=tmp_path / "redis", port=free_port(), password="correct-horse-battery")
    server.ensure_running()
    try:
        with pytest.raises(redis.AuthenticationError):  # any local user could otherwise use the queue
            redis.Redis(host="127.0.0.1", port=server.port).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port, password="wrong").ping()
        assert redis.Redis.from_url(server.url).ping()  # REDIS_URL carries it
        pid = int(server.pid_file.read_text())
        assert b"correct-horse-battery" not in Path(f"/proc/{pid}/cmdline").read_bytes()  # `ps` shows that
        assert server.config_file.stat().st_mode & 0o077 == 0
    finally:
        server.stop()


def test_the_platform_gets_a_generated_password(settings) -> None:
    server = EmbeddedRedis.from_settings()
    assert settings.EMBEDDED_REDIS_PASSWORD and len(server.password) >= 32
    assert f":{server.password}@" in server.url
