"""A model file corrupted on disk stops the web server and the worker at start-up, with the file named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from recognition.engine.model_store import ModelCorrupt, ModelMissing, ModelStore
from recognition.inference import active_pack, verify_active_models
from tests.support.services import REPO, free_port, service_env


@pytest.fixture(scope="module")
def pack_files() -> dict[str, Path]:
    """The configured pack's model files (name -> path), verified; skips when they are not fetched."""
    store = ModelStore(settings.MODELS_DIR)
    names = store.names_for_pack(active_pack(from_database=False).name)
    try:
        return {name: store.verify(name) for name in names}
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"model files not usable here ({exc})")


@pytest.fixture
def corrupt_models_dir(pack_files: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the pack's weights with one byte of the embedder flipped; returns (folder, corrupt file)."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for path in pack_files.values():
        shutil.copy2(path, folder / path.name)
    embedder = folder / pack_files[active_pack(from_database=False).embedder].name
    data = bytearray(embedder.read_bytes())
    data[len(data) // 2] ^= 0x01
    embedder.write_bytes(bytes(data))
    return folder, embedder


def start(command: list[str], models_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = service_env(FACESITE_MODELS_DIR=str(models_dir), FACESITE_MEDIA_ROOT=str(tmp_path / "media"))
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.django_db
def test_the_intact_pack_verifies(pack_files: dict[str, Path]) -> None:
    assert set(pack_files) <= set(verify_active_models())


@pytest.mark.services
def test_daphne_refuses_to_start_naming_the_corrupt_file(corrupt_models_dir, tmp_path: Path) -> None:
    folder, corrupt = corrupt_models_dir
    done = start([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(free_port()),
                  "facesite.asgi:application"], folder, tmp_path)  # fmt: skip
    assert done.returncode != 0
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("facesite cannot start:") and str(corrupt) in error
    assert "python manage.py fetch_models" in error and "Traceback" not in done.stderr


@pytest.mark.services
def test_the_worker_refuses_to_start_naming_the_corrupt_file(corrupt_models_dir, tmp_path: Path,
                                                             redis_url: str) -> None:  # fmt: skip
    folder, corrupt = corrupt_models_dir
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "facesite", "worker", "--pool", "solo", "-Q", "celery,enroll",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env=service_env(FACESITE_MODELS_DIR=str(folder), REDIS_URL=redis_url),
    )  # fmt: skip
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "cannot start" in line]
    assert lines and str(corrupt) in lines[0] and "python manage.py fetch_models" in lines[0]


@pytest.mark.services
def test_a_missing_model_file_is_refused_the_same_way(pack_files: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    detector = pack_files[active_pack(from_database=False).detector]
    shutil.copy2(detector, folder / detector.name)  # the embedder and emotion files are missing
    command = [sys.executable, "-m", "daphne", "-p", str(free_port()), "facesite.asgi:application"]
    done = start(command, folder,
                 tmp_path)  # fmt: skip
    assert done.returncode != 0 and "is missing" in done.stderr and "fetch_models" in done.stderr
