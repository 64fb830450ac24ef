"""The platform's own Redis (broker for Celery, channel layer for several web processes), when no REDIS_URL is set.

It runs redis-server from the system (Debian's redis-server package) with an append-only file in var/redis,
so tasks queued before a restart are still there after it. It asks for a password (generated once, kept in
var/redis_password, mode 0600): on a shared machine, any local user could otherwise read and inject tasks and
websocket messages on 127.0.0.1. The password goes to redis-server in a 0600 config file, never on its command
line (which `ps` shows to everyone), and into REDIS_URL for the platform's own processes.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from facesite.local.errors import ServiceError, ensure_port_free, ensure_writable

log = logging.getLogger("facesite.local")


@dataclass
class EmbeddedRedis:
    root: Path  # var/redis
    port: int
    password: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @classmethod
    def from_settings(cls) -> EmbeddedRedis:
        from django.conf import settings

        return cls(root=settings.VAR_DIR / "redis", port=settings.EMBEDDED_REDIS_PORT,
                   password=settings.EMBEDDED_REDIS_PASSWORD)  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    @property
    def config_file(self) -> Path:
        return self.root / "redis.conf"

    def _write_config(self) -> None:
        """The password for redis-server, in a file only this user can read (rewritten at every start)."""
        self.config_file.unlink(missing_ok=True)
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as config:
            config.write(f'requirepass "{self.password}"\n')

    @property
    def pid_file(self) -> Path:
        return self.root / "redis.pid"

    def _client(self):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Fail fast: a port held by something that is not Redis must not hang `make run`.
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=0.5,
                           socket_timeout=1.0, retry=Retry(NoBackoff(), 0))  # fmt: skip

    def is_running(self) -> bool:
        import redis

        try:
            return bool(self._client().ping())
        except redis.RedisError:
            return False

    def ensure_running(self) -> None:
        if self.is_running():
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(
                "redis-server is not installed: `apt-get install redis-server` (make run does this as root), "
                "or set REDIS_URL to a running Redis"
            )
        ensure_writable(self.root)
        ensure_port_free(self.port, what="Redis", env_var="FACESITE_REDIS_PORT")
        self.pid_file.unlink(missing_ok=True)  # a stale pid file from a crash; the data files are kept
        self._write_config()
        result = subprocess.run(
            [binary, str(self.config_file), "--bind", "127.0.0.1", "--port", str(self.port), "--daemonize", "yes",
             "--pidfile", str(self.pid_file), "--dir", str(self.root), "--logfile", str(self.root / "redis.log"),
             "--save", "", "--appendonly", "yes", "--protected-mode", "yes"],
            capture_output=True, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.is_running():
            if result.returncode != 0 or time.monotonic() > deadline or self._died():
                raise ServiceError(
                    f"Redis did not start on port {self.port}: see {self.root / 'redis.log'} "
                    f"({(result.stderr or result.stdout).strip() or 'no output'})"
                )
            time.sleep(0.05)
        log.info("Redis listening on 127.0.0.1:%s, data in %s", self.port, self.root)

    def _died(self) -> bool:
        """The daemonized server wrote its pid file and then exited (bad data folder, bad config...)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return False
        return not Path(f"/proc/{pid}").exists()

    def stop(self) -> None:
        import redis

        if not self.is_running():
            return
        try:
            self._client().shutdown(nosave=True)  # the append-only file keeps queued tasks
        except redis.ConnectionError:
            pass  # the server closes the connection as it shuts down
        log.info("Redis stopped")
