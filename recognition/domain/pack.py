"""The pack specification: per model pack, its models (the [packs.*] tables of models/manifest.toml), its
embedder's dimensions, the shipped match policy, and the model version its embeddings carry.

Standard library only. The manifest is read on first use, never at import. The version of an embedding names
the exact weights (the manifest's sha256 of the embedder's file) and the test-time augmentation: vectors of two
versions are not comparable, so a gallery of another version is never searched (recognition.selectors).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.toml"
FLIP_SUFFIX = "+hflip"  # an embedder that averages each face with its mirror (recognition.engine.embedders)


@dataclass(frozen=True)
class EmbedderSpec:
    dimensions: int
    flip_tta: bool = False  # the engine's embedder class must agree (tests/domain/test_pack.py)


EMBEDDERS: dict[str, EmbedderSpec] = {
    "arcface_mbf": EmbedderSpec(dimensions=512),
    "sface_2021dec": EmbedderSpec(dimensions=128, flip_tta=True),
}
EMBEDDING_DIMENSIONS: dict[str, int] = {name: spec.dimensions for name, spec in EMBEDDERS.items()}

# Shipped match policies, the same numbers the data migrations put into PackSettings (where they come from is
# written there: 0003, and 0009 for the open pack's threshold). Used when the database has no row for a pack.
DEFAULT_POLICIES: dict[str, dict[str, float]] = {
    "arcface": {"threshold": 0.32, "margin": 0.05},
    "open": {"threshold": 0.45, "margin": 0.05},
}


@dataclass(frozen=True)
class PackSpec:
    name: str
    detector: str
    embedder: str
    emotion: str
    licence: str
    commercial_use: bool
    embedder_sha256: str  # of the embedder's weights file, as pinned in the manifest

    @property
    def licence_line(self) -> str:
        use = "commercial use allowed" if self.commercial_use else "NON-COMMERCIAL use only"
        return f"{self.licence}; {use}"

    @property
    def dimensions(self) -> int:
        return EMBEDDERS[self.embedder].dimensions

    @property
    def model_version(self) -> str:
        """The model_version the pack's embedder writes (FaceEmbedding.model_version)."""
        return model_version(self.embedder, self.embedder_sha256, flip_tta=EMBEDDERS[self.embedder].flip_tta)

    @property
    def default_policy(self) -> dict[str, float] | None:
        return DEFAULT_POLICIES.get(self.name)


def model_version(model_name: str, sha256: str, *, flip_tta: bool) -> str:
    """``name:<sha256[:12]>`` of the weights, plus ``+hflip`` with flip test-time augmentation."""
    version = f"{model_name}:{sha256[:12]}"
    return f"{version}{FLIP_SUFFIX}" if flip_tta else version


@functools.cache
def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def pack_specs(manifest: Path = MANIFEST) -> dict[str, PackSpec]:
    """Every pack of the manifest (read once per process, on first use)."""
    data = _read(Path(manifest))
    models = data.get("models", {})
    specs = {}
    for name, entry in data.get("packs", {}).items():
        embedder = entry["embedder"]
        if embedder not in EMBEDDERS:
            raise ValueError(f"pack {name}: embedder {embedder!r} has no specification (EMBEDDERS)")
        specs[name] = PackSpec(
            name=name,
            detector=entry["detector"],
            embedder=embedder,
            emotion=entry.get("emotion", ""),
            licence=entry["licence"],
            commercial_use=bool(entry["commercial_use"]),
            embedder_sha256=models[embedder]["sha256"],
        )
    return specs


def pack_spec(pack: str, manifest: Path = MANIFEST) -> PackSpec:
    """One pack's specification; ValueError for an unknown pack."""
    specs = pack_specs(manifest)
    if pack not in specs:
        raise ValueError(f"unknown model pack {pack!r}; known packs: {', '.join(sorted(specs))}")
    return specs[pack]


def pack_model_name(pack: str) -> str:
    """The embedding model whose vectors a pack's gallery holds (FaceEmbedding.model_name)."""
    return pack_spec(pack).embedder


def pack_model_version(pack: str) -> str:
    """The model_version the pack's embedder writes now, without loading the model. A stored embedding of
    another version is stale: re-embedding replaces it."""
    return pack_spec(pack).model_version


def current_model_version(model_name: str) -> str | None:
    """The version embeddings of `model_name` carry now (that of the first pack using it), None if no pack does."""
    for spec in pack_specs().values():
        if spec.embedder == model_name:
            return spec.model_version
    return None


class ModelVersionMismatch(LookupError):
    """The gallery of `model_name` holds embeddings of other versions only (the weights changed under the same
    name): they are not comparable with the current version's vectors. Re-embedding moves the gallery."""

    def __init__(self, model_name: str, current: str, found: list[str]) -> None:
        self.model_name, self.current, self.found = model_name, current, found
        super().__init__(
            f"the {model_name} gallery holds embeddings of model version {', '.join(found)}, not {current}: "
            "re-embed it (manage.py reembed) before searching"
        )
