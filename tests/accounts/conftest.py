"""Fixtures for accounts: media and pending sign-up frames in tmp, real models, real face photos as webcam
frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import services

PASSWORD = "Tulip-Harbour-7319"
SIGNUP_SET = "identities/deepface_p01"  # 8 photos of one person; 1-7 differ in pose by >= 6 degrees but 5/6
OTHER_SET = "identities/deepface_p03"


@pytest.fixture(autouse=True)
def storage(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNUP_PENDING_DIR = tmp_path / "signup"
    settings.SIGNUP_FRAME_INTERVAL_MS = 0  # the tests send frames back to back
    settings.LIVENESS_FRAME_INTERVAL_MS = 0
    return tmp_path


@pytest.fixture(scope="session")
def analyzer():
    from django.conf import settings

    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:  # the configured pack (no database at session scope); the views use the same process-wide analyzer
        return face_analyzer(settings.FACE_MODEL_PACK)
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"models not available ({exc}); run `python manage.py fetch_models`")


def webcam_frame(
    image: np.ndarray, size: tuple[int, int] = (640, 480), shift: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """A photo as a webcam would deliver it: fitted into size (letterboxed), maybe shifted a few pixels."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)  # fmt: skip
    x = (width - resized.shape[1]) // 2 + shift[0]
    y = (height - resized.shape[0]) // 2 + shift[1]
    return cv2.warpAffine(resized, np.float32([[1, 0, x], [0, 1, y]]), (width, height))  # black borders


def jpeg(frame: np.ndarray, quality: int = 92) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def photo_frames(faces_data: Path, folder: str, numbers) -> list[np.ndarray]:
    return [webcam_frame(cv2.imread(str(faces_data / folder / f"{n}.jpg"))) for n in numbers]


def no_face_frame(faces_data: Path) -> np.ndarray:
    """A real background patch (skimage's LFW subset, non-face half), scaled up to a webcam frame."""
    patch = cv2.imread(str(faces_data / "misc/skimage_lfw_subset/nonfaces/150.png"))
    return cv2.resize(patch, (640, 480), interpolation=cv2.INTER_CUBIC)


def two_faces_frame(faces_data: Path) -> np.ndarray:
    return webcam_frame(cv2.imread(str(faces_data / "group/facerec_two_people.jpg")))


def signed_up(username: str = "ann", name: str = "Ann Lee"):
    """An account made by the sign-up service (consent recorded, Person linked)."""
    return services.sign_up(username=username, email=f"{username}@example.test", name=name, password=PASSWORD)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def member(db):
    return signed_up()


@pytest.fixture
def other_member(db):
    return signed_up("bob", "Bob Stone")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("boss", "boss@example.test", PASSWORD, is_staff=True)
