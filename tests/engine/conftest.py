"""Fixtures for the face-engine tests: model files, the shared face data, one SessionFactory per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.engine.runtime import RuntimeOptions, SessionFactory

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "models" / "weights"
FETCH_HINT = "run `python manage.py fetch_models`"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return WEIGHTS


@pytest.fixture(scope="session")
def model_path(models_dir: Path) -> Callable[[str], Path]:
    """model_path(name) -> the weights file for a manifest model name; skips the test when it is absent."""
    from recognition.engine.model_store import ModelMissing, ModelStore

    store = ModelStore(root=models_dir)

    def resolve(name: str) -> Path:
        try:
            return store.path(name)
        except ModelMissing as exc:
            pytest.skip(f"model file for {name} is absent ({exc}); {FETCH_HINT}")

    return resolve


@pytest.fixture(scope="session")
def session_factory() -> SessionFactory:
    return SessionFactory(RuntimeOptions(device="auto"))


@pytest.fixture(scope="session")
def scrfd(model_path, session_factory):
    from recognition.engine.detectors import SCRFD

    return SCRFD(model_path("scrfd_500m"), session_factory)


@pytest.fixture(scope="session")
def retinaface(model_path, session_factory):
    from recognition.engine.detectors import RetinaFace

    return RetinaFace(model_path("retinaface_mnet025"), session_factory)


@pytest.fixture(scope="session")
def yunet(model_path, session_factory):
    from recognition.engine.detectors import YuNet

    return YuNet(model_path("yunet_2023mar"), session_factory)


@pytest.fixture(scope="session")
def arcface(model_path, session_factory):
    from recognition.engine.embedders import ArcFace

    return ArcFace(model_path("arcface_mbf"), session_factory)


@pytest.fixture(scope="session")
def sface(model_path, session_factory):
    from recognition.engine.embedders import SFace

    return SFace(model_path("sface_2021dec"), session_factory)


@pytest.fixture(params=["scrfd", "retinaface", "yunet"])
def detector(request):
    """Each real detector in turn."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def astronaut(faces_data: Path) -> np.ndarray:
    """A clean single-face photo (public domain), 512x512 BGR."""
    image = cv2.imread(str(faces_data / "misc" / "skimage_astronaut.png"))
    assert image is not None
    return image


@pytest.fixture(scope="session")
def john_chips(faces_data: Path) -> dict[str, list[Path]]:
    """dlib's 150x150 aligned face chips (no background), by person."""
    chips: dict[str, list[Path]] = {}
    for folder in sorted((faces_data / "identities").glob("dlib_John_*")):
        chips[folder.name] = sorted(folder.glob("*.jpg"))
    if not chips:
        pytest.skip("no dlib_John_* chips in the shared face data")
    return chips
