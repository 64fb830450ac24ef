"""Real service subprocesses for tests: free ports, the environment they run in, and a daphne that can be started,
stopped and started again on the same port. The fixtures that use these live in tests/conftest.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    from facesite.local.errors import port_is_open

    deadline = time.monotonic() + timeout
    while not port_is_open(port):
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listened on port {port} within {timeout}s")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_database_url() -> str:
    """A DATABASE_URL for subprocesses that must see the test database (use with transactional_db)."""
    from django.db import connection

    params = connection.settings_dict
    return f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def service_env(**extra: str | None) -> dict[str, str]:
    """This process's environment for a service subprocess, with extra added; a None removes that variable."""
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="facesite.settings", PYTHONUNBUFFERED="1")
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start_python(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """`python ARGS` in the repository, its output appended to log_path."""
    with log_path.open("a") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


class Daphne:
    """daphne serving facesite.asgi on one port; stop() and start() again model a server restart."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.env, self.log_path, self.port = env, log_path, port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Daphne:
        """Start and wait until it listens; if it dies or never listens, the error carries its log's tail."""
        args = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "facesite.asgi:application"]
        self.process = start_python(args, self.env, self.log_path)
        try:
            wait_for_port(self.port, self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"daphne did not start: {exc}\n{self.log()[-3000:]}") from None
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
