"""Checks that turn a bad local situation into one line saying what to do."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service could not be started; the message says what to do about it."""


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(port: int, *, what: str, env_var: str, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: a port left in TIME_WAIT by a server that just stopped is free to use again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ServiceError(
                f"port {port} on {host} is in use ({exc.strerror}), so {what} cannot start: stop whatever holds it "
                f"or choose another port, e.g. `{env_var}={port + 1} make run`"
            ) from None


def ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ServiceError(
            f"cannot write to {folder} ({exc.strerror}): run as a user who can, or point FACESITE_VAR_DIR elsewhere"
        ) from None
