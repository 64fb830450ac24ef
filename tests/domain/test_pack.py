"""The pack specification: read from the manifest on first use, and in agreement with the engine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recognition.domain import pack
from recognition.engine.embedders import embedder_class, embedder_version
from recognition.engine.model_store import load_manifest, load_packs
from tests.conftest import REPO


def test_every_pack_of_the_manifest_has_its_models_dims_policy_and_version() -> None:
    specs = pack.pack_specs()
    manifest = load_manifest()
    assert set(specs) == set(load_packs()) == {"arcface", "open"}
    for name, spec in specs.items():
        assert spec.embedder == load_packs()[name]["embedder"] == pack.pack_model_name(name)
        assert spec.default_policy == pack.DEFAULT_POLICIES[name]
        flip = embedder_class(spec.embedder).flip_tta
        assert pack.EMBEDDERS[spec.embedder].flip_tta is flip  # the engine embeds as the specification says
        weights = f"{spec.embedder}:{manifest[spec.embedder].sha256[:12]}"
        assert spec.model_version == pack.pack_model_version(name) == embedder_version(weights, flip)
    assert (specs["arcface"].dimensions, specs["open"].dimensions) == (512, 128)
    assert pack.pack_model_version("open").endswith("+hflip")


def test_an_unknown_pack_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unknown model pack 'nope'; known packs: arcface, open"):
        pack.pack_spec("nope")


def test_the_manifest_is_not_read_at_import() -> None:
    code = (
        "import recognition.domain.pack as p, recognition.engine.model_store as m; "
        "assert p._read.cache_info().currsize == 0 and '_packs' not in vars(m.PACKS); "
        "assert 'arcface' in m.PACKS and p.pack_model_name('open') == 'sface_2021dec'; print('lazy')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "lazy", result.stderr


def test_the_specification_imports_only_the_standard_library() -> None:
    code = (
        "import sys, recognition.domain.pack; "
        "print(sorted(m for m in sys.modules if m.startswith(('django', 'numpy', 'facesite'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
