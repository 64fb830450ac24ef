"""The webcam capture with the liveness challenge required (the default): no photo is kept and nothing is
enrolled until the person has done the server's challenge in this capture; a real head turning passes it, and
the photos kept afterwards must be that person."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import capture
from recognition.domain.liveness import ChallengeStep
from recognition.models import Enrollment
from tests.accounts.conftest import SIGNUP_SET, jpeg, photo_frames, signed_up
from tests.accounts.test_capture import pending_client, send, start

pytestmark = pytest.mark.django_db
WOJTEK = "video/metricaltracker_wojtek.mp4"  # turns toward image right at 4-6.5 s, looks up at 7-9 s


def test_liveness_is_required_by_default(settings) -> None:
    assert settings.LIVENESS_REQUIRED is True


def test_photos_alone_never_pass_and_nothing_is_enrolled(faces_data: Path, analyzer, storage) -> None:
    user = signed_up()
    client = pending_client(user)
    first = start(client)
    assert first["count"] == 0 and first["instruction"] == "Look straight at the camera"
    progress = first["liveness"]
    assert progress["done"] == 0 and len(progress["steps"]) == 2 and progress["step"] == progress["steps"][0]
    # The person's own photos, each shown a few frames, in any order: a slideshow.
    for frame in photo_frames(faces_data, SIGNUP_SET, [1, 2, 3, 4, 5, 6, 7, 1, 3, 5]):
        for _ in range(3):
            reply = send(client, frame)
            assert not reply["kept"] and reply["count"] == 0
            assert reply["reason"] == "liveness check" or reply["reason"].startswith("liveness failed")
    state = capture.CaptureState.from_dict(client.session["accounts.capture"])
    assert not state.live and state.count == 0
    assert not list((storage / "signup" / str(user.pk)).rglob("*.jpg"))  # no photo kept
    response = client.post("/accounts/capture/finish/")
    assert response.status_code == 400 and "liveness" in response.json()["error"]
    assert not Enrollment.objects.exists()


def test_finishing_is_refused_without_a_passed_challenge_even_with_photos_on_disk(storage) -> None:
    """A capture state that somehow holds photos but no passed challenge still cannot be enrolled."""
    user = signed_up()
    state = capture.start_capture(user)
    folder = capture.pending_dir(user.pk, state.capture_id)
    for n in range(1, 7):
        (folder / f"{n:02d}.jpg").write_bytes(b"x")
    state.poses = [[0.0, 0.0]] * 6
    with pytest.raises(capture.CaptureError, match="liveness"):
        capture.finish_capture(user, state)
    assert not Enrollment.objects.exists()


def video_frames(path: Path, until_s: float, every: int = 2):
    video = cv2.VideoCapture(str(path))
    fps = video.get(cv2.CAP_PROP_FPS)
    index = 0
    while True:
        ok, frame = video.read()
        if not ok or index / fps > until_s:
            break
        if index % every == 0:
            yield index / fps, frame
        index += 1
    video.release()


def test_a_real_head_turning_passes_and_later_photos_must_be_that_person(
    faces_data: Path, analyzer, storage, monkeypatch
) -> None:
    video = faces_data / WOJTEK
    if not video.is_file():
        pytest.skip(f"{WOJTEK} not in the shared data")
    # The server picks the challenge; here it picks what the man in the video does.
    monkeypatch.setattr("recognition.liveness.new_challenge",
                        lambda length=None: (ChallengeStep.TURN_RIGHT, ChallengeStep.LOOK_UP))  # fmt: skip
    user = signed_up()
    state = capture.start_capture(user)
    assert capture.liveness_progress(state)["steps"] == ["turn_right", "look_up"]
    replies = []
    for t, frame in video_frames(video, until_s=9.5):  # 12.5 frames a second, timed as the video
        reply = capture.offer_frame(state, jpeg(frame), analyzer, now=1000.0 + t)
        replies.append(reply)
        if state.live:
            break
        state = capture.CaptureState.from_dict(state.as_dict())  # the view keeps it in the session between frames
    assert state.live, [r.reason for r in replies[-5:]]
    assert replies[-1].reason == "liveness passed" and replies[-1].instruction == capture.POSE_PLAN[0]
    assert all(r.reason == "liveness check" for r in replies[:-1]) and not any(r.kept for r in replies)
    assert replies[-1].code == capture.FrameStatus.LIVENESS_PASSED
    assert {r.code for r in replies[:-1]} == {capture.FrameStatus.LIVENESS_CHECK}
    # the face that started the challenge is the reference, beside the kept frames (never in the session)
    assert capture._reference(state) is not None and state.liveness is None
    assert "reference" not in json.dumps(state.as_dict())
    # Someone else's photos are refused as a different person; the man's own frontal frame is kept.
    other = capture.offer_frame(state, jpeg(photo_frames(faces_data, SIGNUP_SET, [1])[0]), analyzer)
    assert not other.kept and other.reason == capture.DIFFERENT_PERSON
    frontal = next(frame for t, frame in video_frames(video, until_s=1.0))
    assert capture.offer_frame(state, jpeg(frontal), analyzer).kept


def test_a_failed_challenge_starts_a_new_random_one(monkeypatch) -> None:
    user = signed_up()
    state = capture.start_capture(user)
    assert state.challenges == 1

    class NoFace:
        def detect(self, frame):
            return []

        def analyze(self, frame, **kwargs):
            return []

    import numpy as np

    blank = jpeg(np.full((480, 640, 3), 90, np.uint8))
    capture.offer_frame(state, blank, NoFace(), now=0.0)
    reply = capture.offer_frame(state, blank, NoFace(), now=30.0)  # past LIVENESS_TIMEOUT_S
    assert reply.reason == "liveness failed: no face" and not reply.kept  # none within LIVENESS_TIMEOUT_S
    assert state.challenges == 2 and not state.live and reply.liveness["done"] == 0
    assert reply.code == capture.FrameRefusal.LIVENESS_FAILED and state.refused == {"liveness_failed": 1}


def test_the_frame_endpoint_reports_the_challenge(faces_data: Path, analyzer) -> None:
    client = pending_client(signed_up())
    start(client)
    upload = SimpleUploadedFile("frame.jpg", jpeg(photo_frames(faces_data, SIGNUP_SET, [1])[0]))
    reply = client.post("/accounts/capture/frame/", {"frame": upload}).json()
    assert reply["reason"] == "liveness check" and reply["liveness"]["done"] == 0
    assert reply["instruction"] in {"Turn your head to your right, then back", "Turn your head to your left, then back",
                                    "Tilt your chin up, then back", "Tilt your chin down, then back"}  # fmt: skip
