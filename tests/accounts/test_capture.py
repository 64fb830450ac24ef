"""The webcam capture with real face photos as frames, through its JSON endpoints: good frames kept, bad
ones refused with a reason and an instruction, then one enrollment batch through the ordinary enrollment
service, and the pending account logged in when enough photos are enrolled."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts import capture, pending_frames
from accounts.views import PENDING
from recognition.domain.quality import QualityCode
from recognition.models import Enrollment, FaceEmbedding, FaceImage, Person
from tests.accounts.conftest import (
    OTHER_SET,
    SIGNUP_SET,
    client_for,
    jpeg,
    no_face_frame,
    photo_frames,
    signed_up,
    two_faces_frame,
)  # fmt: skip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_liveness(settings) -> None:
    """These tests are about the photos: real photos cannot pass the liveness challenge, which has tests of its
    own with it required (test_capture_liveness.py, tests/security/test_liveness_attacks.py)."""
    settings.LIVENESS_REQUIRED = False


def pending_client(user) -> Client:
    client = Client()
    session = client.session
    session[PENDING] = user.pk
    session.save()
    return client


def start(client: Client, mode: str = "signup") -> dict:
    response = client.post("/accounts/capture/start/", {"mode": mode})
    assert response.status_code == 200, response.content
    return response.json()


def send(client: Client, frame) -> dict:
    upload = SimpleUploadedFile("frame.jpg", jpeg(frame), content_type="image/jpeg")
    response = client.post("/accounts/capture/frame/", {"frame": upload})
    assert response.status_code == 200, response.content
    return response.json()


def test_good_frames_are_kept_and_bad_ones_refused_with_reasons(faces_data: Path, analyzer, storage) -> None:
    user = signed_up()
    client = pending_client(user)
    first = start(client)
    assert first == {"wanted": 6, "minimum": 4, "count": 0, "instruction": capture.POSE_PLAN[0], "liveness": None}

    reply = send(client, no_face_frame(faces_data))
    assert not reply["kept"] and reply["reason"] == "no face found" and reply["count"] == 0
    assert reply["code"] == QualityCode.NO_FACE
    assert "face the camera" in reply["instruction"]
    assert reply["why_so_few"] == [{"reason": "no face found", "count": 1}]

    reply = send(client, two_faces_frame(faces_data))
    assert not reply["kept"] and "2 faces found" in reply["reason"] and reply["code"] == QualityCode.SEVERAL_FACES
    assert reply["instruction"] == "Make sure only you are in the picture"

    frames = photo_frames(faces_data, SIGNUP_SET, [1, 2, 3])
    reply = send(client, frames[0])
    assert reply["kept"] and reply["count"] == 1 and reply["instruction"] == capture.POSE_PLAN[1]
    assert reply["code"] == capture.FrameStatus.KEPT
    x1, y1, x2, y2 = reply["box"]
    assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1

    reply = send(client, frames[0])  # the same pose again
    assert not reply["kept"] and reply["reason"] == "duplicate pose" and reply["count"] == 1
    assert reply["code"] == capture.FrameRefusal.DUPLICATE_POSE

    reply = send(client, photo_frames(faces_data, OTHER_SET, [3])[0])  # someone else steps in
    assert not reply["kept"] and reply["reason"] == capture.DIFFERENT_PERSON
    assert reply["code"] == capture.FrameRefusal.DIFFERENT_PERSON
    assert reply["instruction"] == "Only the person signing up should be in the picture"

    for frame in frames[1:]:
        assert send(client, frame)["kept"]
    state = capture.CaptureState.from_dict(client.session["accounts.capture"])
    kept_files = sorted((storage / "signup" / str(user.pk) / state.capture_id).glob("*.jpg"))
    assert [p.name for p in kept_files] == ["01.jpg", "02.jpg", "03.jpg"] and state.count == 3
    # Counted by code; the words for "why so few photos?" are made from the codes.
    assert state.refused == {"no_face": 1, "several_faces": 1, "duplicate_pose": 1, "different_person": 1}
    assert sorted(capture.refusal_summary(state, limit=4)) == [
        ("a different person", 1), ("more than one face", 1), ("no face found", 1), ("same pose as a kept photo", 1),
    ]  # fmt: skip
    # Too few to finish yet.
    response = client.post("/accounts/capture/finish/")
    assert response.status_code == 400 and "at least 4" in response.json()["error"]


def test_enough_photos_are_enrolled_and_the_account_logged_in(
    faces_data: Path, analyzer, storage, django_capture_on_commit_callbacks
) -> None:
    user = signed_up()
    client = pending_client(user)
    start(client)
    kept = 0
    for frame in photo_frames(faces_data, SIGNUP_SET, range(1, 8)):  # 5 and 6 are near the same pose
        reply = send(client, frame)
        kept += reply["kept"]
    assert kept == 6 and reply["done"]
    reply = send(client, frame)
    assert reply["reason"] == "enough photos" and reply["code"] == capture.FrameStatus.ENOUGH_PHOTOS

    with django_capture_on_commit_callbacks(execute=True):  # eager Celery runs the enrollment task on commit
        response = client.post("/accounts/capture/finish/")
    assert response.status_code == 200
    batch = Enrollment.objects.get(pk=response.json()["batch"])
    assert batch.source == "signup" and batch.started_by == user and batch.state == Enrollment.State.DONE
    person = Person.objects.get(user=user)
    images = FaceImage.objects.filter(enrollment=batch)
    assert images.count() == 6 and set(images.values_list("person", flat=True)) == {person.pk}
    enrolled = images.filter(status=FaceImage.Status.ENROLLED)
    assert enrolled.count() == 6, list(images.values_list("reject_reason"))
    assert FaceEmbedding.objects.filter(person=person).count() == 6
    assert all(Path(image.file.path).is_relative_to(storage / "media") for image in images)
    pending = storage / "signup" / str(user.pk)
    assert not pending.exists() or not any(pending.iterdir())  # the kept frames now live only under media/

    reply = client.post("/accounts/capture/status/").json()
    assert reply["ok"] and reply["enrolled"] == 6 and reply["redirect"] == "/accounts/profile/"
    assert int(client.session["_auth_user_id"]) == user.pk and PENDING not in client.session
    profile = client.get("/accounts/profile/")
    assert profile.status_code == 200 and "6 enrolled photos" in profile.content.decode()


def test_too_few_enrolled_photos_start_another_round(faces_data: Path, analyzer, settings,
                                                     django_capture_on_commit_callbacks) -> None:  # fmt: skip
    user = signed_up()
    client = pending_client(user)
    start(client)
    for frame in photo_frames(faces_data, SIGNUP_SET, [1, 2, 3, 4]):
        assert send(client, frame)["kept"]
    # The enrollment's own check is stricter now than the live check was: only the frontal photos pass.
    settings.ENROLL_MAX_YAW = 7.5
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/capture/finish/").status_code == 200
    reply = client.post("/accounts/capture/status/").json()
    assert reply["finished"] and not reply["ok"] and "redirect" not in reply
    assert reply["enrolled"] == 2 and "turned too far" in reply["message"]
    assert reply["rejected"] == [{"reason": "face turned too far to the side", "count": 2}]
    rejected = Enrollment.objects.get().images.filter(status=FaceImage.Status.REJECTED)
    assert set(rejected.values_list("reject_code", flat=True)) == {QualityCode.TURNED_AWAY}
    assert reply["retry"]["count"] == 0 and reply["retry"]["minimum"] == 2  # the enrolled two still count
    assert "_auth_user_id" not in client.session


def test_the_outcome_groups_rejections_by_code_not_by_their_words() -> None:
    user = signed_up()
    state = capture.CaptureState(user_id=user.pk, capture_id="c", mode="add", wanted=3, minimum=1)
    batch = Enrollment.objects.create(source="webcam", state=Enrollment.State.DONE, errors=[
        {"file": "x.jpg", "error": "not an image this platform can read"},
    ])  # fmt: skip
    person = Person.objects.get(user=user)
    rejected = [
        ("face_too_small", "any words (10 px)"),
        ("face_too_small", "other words, (55 px)"),
        ("blurred", "too blurred (sharpness 3.0; at least 30.0)"),
        ("", "analysis failed (Boom: x (y))"),
    ]
    for k, (code, words) in enumerate(rejected):
        FaceImage.objects.create(
            person=person,
            enrollment=batch,
            file=f"f/{k}.jpg",
            sha256=f"{k:064d}",
            source="webcam",
            status="rejected",
            reject_code=code,
            reject_reason=words,
        )
    state.batch_id = batch.pk
    outcome = capture.capture_outcome(user, state)
    assert outcome.finished and not outcome.ok and not outcome.held
    assert outcome.rejected[0] == {"reason": "face too small", "count": 2}  # one kind, whatever the words
    assert sorted((r["reason"], r["count"]) for r in outcome.rejected[1:]) == [
        ("analysis failed (Boom: x (y))", 1), ("not an image this platform can read", 1), ("too blurred", 1),
    ]  # fmt: skip
    assert "face too small (2); " in outcome.message and "too blurred (1)" in outcome.message


def test_the_capture_refuses_strangers_and_needs_consent(faces_data: Path) -> None:
    assert Client().post("/accounts/capture/start/").status_code == 403
    user = signed_up()
    client = client_for(user)
    assert client.post("/accounts/capture/frame/").status_code == 409  # nothing started
    from accounts.services import withdraw_consent

    withdraw_consent(user)
    response = client.post("/accounts/capture/start/")
    assert response.status_code == 403 and "consent" in response.json()["error"]
    assert client.get("/accounts/capture/").status_code == 302  # to the profile, to give consent


def test_frames_must_be_images_and_not_too_large(settings) -> None:
    client = client_for(signed_up())
    start(client)
    garbage = SimpleUploadedFile("f.jpg", b"not an image")
    response = client.post("/accounts/capture/frame/", {"frame": garbage})
    assert response.status_code == 200 and response.json()["reason"].startswith("unreadable frame")
    settings.SIGNUP_MAX_FRAME_BYTES = 10
    response = client.post("/accounts/capture/frame/", {"frame": SimpleUploadedFile("f.jpg", b"x" * 11)})
    assert response.status_code == 413
    assert client.post("/accounts/capture/frame/").status_code == 400  # no frame field


def test_frames_faster_than_the_interval_are_refused(settings) -> None:
    settings.SIGNUP_FRAME_INTERVAL_MS = 60_000
    client = client_for(signed_up())
    start(client)
    frame = SimpleUploadedFile("f.jpg", b"not an image")
    assert client.post("/accounts/capture/frame/", {"frame": frame}).status_code == 200
    assert client.post("/accounts/capture/frame/", {"frame": frame}).status_code == 429


def test_abandoned_captures_are_deleted_after_a_day(storage) -> None:
    import os
    import time

    abandoned, recent = storage / "signup" / "41" / "abc", storage / "signup" / "42" / "def"
    for folder in (abandoned, recent):
        folder.mkdir(parents=True)
        (folder / "01.jpg").write_bytes(b"x")
    day_ago = time.time() - pending_frames.STALE_AFTER_S - 60
    for path in (abandoned / "01.jpg", abandoned, abandoned.parent):
        os.utime(path, (day_ago, day_ago))
    start(client_for(signed_up()))  # every capture start sweeps
    assert not abandoned.parent.exists() and (recent / "01.jpg").exists()
