"""`make run`'s launcher, used as a newcomer would: start, serve, stop on Ctrl-C, start again with data kept."""

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from facesite.local.errors import port_is_open
from tests.support.services import REPO, free_port, service_env


def start_platform(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "facesite.local.run"], cwd=REPO, env=env,
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the platform exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"not serving {url} after {timeout}s:\n{log.read_text()[-4000:]}")


def interrupt(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    return process.wait(timeout=60)


@pytest.mark.services
def test_run_serves_stops_cleanly_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    var_dir = Path(tempfile.mkdtemp(prefix="test-run-", dir=settings.VAR_DIR))
    ports = {"PORT": free_port(), "FACESITE_PG_PORT": free_port(), "FACESITE_REDIS_PORT": free_port()}
    env = service_env(FACESITE_VAR_DIR=str(var_dir), FACESITE_MEDIA_ROOT=str(var_dir / "media"),
                      **{k: str(v) for k, v in ports.items()})  # fmt: skip
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    login_url = f"http://127.0.0.1:{ports['PORT']}/admin/login/"
    try:
        first_log = tmp_path / "first.log"
        first = start_platform(env, first_log)
        wait_until_serving(login_url, first, first_log)
        assert interrupt(first) == 0, first_log.read_text()[-4000:]
        output = first_log.read_text()
        assert "Created the first admin account" in output and "password:" in output
        for name, port in ports.items():
            assert not port_is_open(port), f"{name} {port} still open after Ctrl-C:\n{output[-3000:]}"

        second_log = tmp_path / "second.log"
        second = start_platform(env, second_log)
        wait_until_serving(login_url, second, second_log)
        assert interrupt(second) == 0
        assert "Created the first admin account" not in second_log.read_text()  # the account was kept
        assert (var_dir / "pg" / "data" / "PG_VERSION").exists()
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.mark.services
def test_port_in_use_is_one_line_and_deletes_nothing(tmp_path: Path) -> None:
    import socket

    var_dir = Path(tempfile.mkdtemp(prefix="test-run-", dir=settings.VAR_DIR))
    keep = var_dir / "keep.txt"
    keep.write_text("existing data")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = service_env(FACESITE_VAR_DIR=str(var_dir), PORT=str(port), FACESITE_PG_PORT=str(free_port()))
        env.pop("DATABASE_URL", None)
        result = subprocess.run([sys.executable, "-m", "facesite.local.run"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert f"error: port {port} on 127.0.0.1 is in use" in result.stderr
    assert "PORT=" in result.stderr
    assert keep.read_text() == "existing data"
    shutil.rmtree(var_dir, ignore_errors=True)


def test_the_web_server_runs_each_onnx_call_on_its_callers_thread_unless_told_otherwise() -> None:
    from facesite.local.run import web_env

    assert web_env({"PATH": "/bin"}) == {"PATH": "/bin", "ORT_INTRA_OP_THREADS": "1"}
    assert web_env({"ORT_INTRA_OP_THREADS": "0"})["ORT_INTRA_OP_THREADS"] == "0"  # an operator's choice wins
