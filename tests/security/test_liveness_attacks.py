"""Adversarial: the liveness challenge against photos of a real person (../shared/data/faces/identities) held
up to the camera, through the product's own detector and checker (recognition.liveness.check_frames):
one photo moved, tilted in perspective and scaled along the challenge (plain and printed-look), a slideshow of
the person's photos in the challenge's order (as framed, and aligned eye to eye), and a still photo. None may
pass; a real head turning (the positive control) must, so a refusal is not just a detector that sees nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.domain.head_pose import head_pose
from recognition.domain.liveness import ChallengeStep, Reason

pytestmark = pytest.mark.django_db
L, R, U, D = ChallengeStep.TURN_LEFT, ChallengeStep.TURN_RIGHT, ChallengeStep.LOOK_UP, ChallengeStep.LOOK_DOWN
PERSON = "identities/deepface_p01"  # 8 photos of one woman, in several poses
FRAME = (640, 480)
FPS = 8.0  # the capture page's rate


@pytest.fixture(scope="module")
def analyzers():
    from django.conf import settings

    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:
        return face_analyzer(settings.FACE_MODEL_PACK), face_analyzer(settings.FACE_MODEL_PACK, video=True)
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"models not available ({exc}); run `python manage.py fetch_models`")


class Photo:
    """A photo cut around its face, scaled so the face is ~170 px wide, with its keypoints and pose."""

    def __init__(self, path: Path, analyzer) -> None:
        image = cv2.imread(str(path))
        detection = max(analyzer.detect(image), key=lambda d: d.area)
        x1, y1, x2, y2 = detection.box
        w, h = x2 - x1, y2 - y1
        left, top = int(max(0, x1 - 1.3 * w)), int(max(0, y1 - 1.3 * h))
        crop = image[top:int(min(image.shape[0], y2 + 1.3 * h)), left:int(min(image.shape[1], x2 + 1.3 * w))]
        scale = 170 / w
        self.image = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        self.kps = (np.asarray(detection.kps) - [left, top]) * scale
        self.pose = head_pose(detection.kps)


@pytest.fixture(scope="module")
def photos(faces_data: Path, analyzers) -> list[Photo]:
    folder = faces_data / PERSON
    if not folder.is_dir():
        pytest.skip(f"{PERSON} not in the shared data")
    return [Photo(path, analyzers[0]) for path in sorted(folder.glob("*.jpg"))]


def frontal(photos: list[Photo]) -> Photo:
    return min(photos, key=lambda p: abs(p.pose.yaw) + abs(p.pose.pitch))


def wall(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.normal(128, 18, (FRAME[1] // 16, FRAME[0] // 16)).astype(np.float32)
    return np.repeat(np.clip(cv2.resize(small, FRAME), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def held(photo: np.ndarray, yaw: float = 0, pitch: float = 0, scale: float = 1.0, shift=(0, 0),
         background: np.ndarray | None = None, focal: float = 700.0) -> np.ndarray:  # fmt: skip
    """The photo as a camera sees it held up: rotated in 3D about its centre (a tilt), then projected."""
    h, w = photo.shape[:2]
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]]) @ (rx @ ry).T
    z = corners[:, 2] + focal / scale
    projected = np.stack([focal * corners[:, 0] / z + FRAME[0] / 2 + shift[0],
                          focal * corners[:, 1] / z + FRAME[1] / 2 + shift[1]], axis=1)  # fmt: skip
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(projected))
    frame = (wall() if background is None else background).copy()
    warped = cv2.warpPerspective(photo, matrix, FRAME)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, FRAME) > 0
    frame[mask] = warped[mask]
    return frame


def printed(image: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    paper = image.astype(np.float32) * 0.72 + 45 + rng.normal(0, 6, image.shape)
    return cv2.GaussianBlur(np.clip(paper, 0, 255).astype(np.uint8), (3, 3), 0)


def tilted_along(photo: np.ndarray, steps, degrees: float = 35.0, flip: int = 1):
    """(t, frame): 1 s still, then per step a tilt toward it (0.7 s), held (0.5 s), back (0.7 s), while the
    hand wobbles and the photo comes a little closer."""
    keys, t = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)], 1.0
    for step in steps:
        target = (flip * step.sign * degrees, 0.0) if step.axis == "yaw" else (0.0, flip * step.sign * degrees)
        for dt, pose in ((0.7, target), (0.5, target), (0.7, (0.0, 0.0))):
            t += dt
            keys.append((t, *pose))
    rng = np.random.default_rng(7)
    for k in range(int((t + 0.4) * FPS)):
        now = k / FPS
        yaw = pitch = 0.0
        for (t0, y0, p0), (t1, y1, p1) in zip(keys[:-1], keys[1:], strict=True):
            if t0 <= now <= t1:
                f = 0.5 - 0.5 * math.cos(math.pi * (now - t0) / (t1 - t0))
                yaw, pitch = y0 + f * (y1 - y0), p0 + f * (p1 - p0)
                break
        frame = held(photo, yaw + 2 * math.sin(1.3 * now), pitch + 2 * math.sin(0.9 * now),
                     scale=1 + 0.1 * now / t, shift=(6 * math.sin(1.1 * now), 4 * math.sin(1.7 * now)))  # fmt: skip
        yield now, np.clip(frame.astype(np.int16) + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)


def slideshow(photos: list[Photo], steps, *, aligned: bool, fps: float = FPS, hold_s: float = 0.8):
    """The frontal photo, then for each step the photo turned most that way, then the frontal one again."""
    first = frontal(photos)

    def toward(p: Photo, step: ChallengeStep) -> float:
        delta = p.pose.yaw - first.pose.yaw if step.axis == "yaw" else p.pose.pitch - first.pose.pitch
        return step.sign * delta

    order = [first]
    for step in steps:
        order += [max((p for p in photos if p is not first), key=lambda p, s=step: toward(p, s)), first]
    eyes0 = (first.kps[0] + first.kps[1]) / 2
    t = 0.0
    for index, photo in enumerate(order):
        scale, shift = 1.0 + 0.15 * (index % 3 - 1), (0.0, 0.0)
        if aligned:  # the eyes where the first photo had them, at its eye distance
            eye_gap = np.hypot(*(photo.kps[1] - photo.kps[0]))
            scale = np.hypot(*(first.kps[1] - first.kps[0])) / eye_gap
            eyes = (photo.kps[0] + photo.kps[1]) / 2
            centre = np.array(photo.image.shape[1::-1]) / 2
            centre0 = np.array(first.image.shape[1::-1]) / 2
            shift = tuple((eyes0 - centre0) - (eyes - centre) * scale)
        for _ in range(int((1.0 if index == 0 else hold_s) * fps)):
            yield t, held(photo.image, 1.5 * math.sin(2 * t), 1.0 * math.sin(1.5 * t), scale=scale,
                          shift=(shift[0] + 3 * math.sin(t), shift[1] + 2 * math.cos(t)))  # fmt: skip
            t += 1 / fps


def check(frames, steps, analyzers):
    from recognition.liveness import check_frames

    return check_frames(frames, steps, analyzer=analyzers[1])


def test_positive_control_a_real_head_turning_passes(faces_data: Path, analyzers) -> None:
    video = faces_data / "video" / "metricaltracker_wojtek.mp4"
    if not video.is_file():
        pytest.skip("the head-turn video is not in the shared data")
    capture = cv2.VideoCapture(str(video))
    frames, index = [], 0
    while index < 240:
        ok, frame = capture.read()
        if not ok:
            break
        if index % 3 == 0:  # 8.3 fps, the capture page's rate
            frames.append((index / 25, frame))
        index += 1
    assert check(frames, (R, U), analyzers).live


@pytest.mark.parametrize("steps", [(L, R), (R, L), (U, L), (R, D)])
@pytest.mark.parametrize("flip", [1, -1])
def test_a_photo_tilted_moved_and_scaled_along_the_challenge_is_refused(photos, analyzers, steps, flip) -> None:
    verdict = check(tilted_along(frontal(photos).image, steps, flip=flip), steps, analyzers)
    assert not verdict.live
    assert verdict.reason not in (Reason.NO_FACE, Reason.NO_FRONTAL_START)  # the photo's face was seen


@pytest.mark.parametrize("degrees", [35, 45])
def test_a_tilted_photo_that_reaches_a_turn_is_refused_as_flat(photos, analyzers, degrees) -> None:
    """At the product's thresholds a tilted photo rarely even looks turned (the tests above); with the turn
    threshold halved so that it does, the depth test still refuses it: its nose stays on the plane of its eyes
    and mouth, or it foreshortens like a sheet, not a head."""
    from recognition.domain.liveness import LivenessPolicy
    from recognition.liveness import check_frames

    policy = LivenessPolicy(yaw_step_deg=6, pitch_step_deg=6)
    frames = tilted_along(frontal(photos).image, (L, R), degrees=degrees, flip=-1)
    verdict = check_frames(frames, (L, R), analyzer=analyzers[1], policy_=policy)
    assert verdict.reason is Reason.FLAT and verdict.detail["step"] == "turn_left", verdict


def test_a_printed_photo_tilted_along_the_challenge_is_refused(photos, analyzers) -> None:
    verdict = check(tilted_along(printed(frontal(photos).image), (L, R), degrees=45), (L, R), analyzers)
    assert not verdict.live and verdict.reason is not Reason.NO_FACE


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("fps", [8.0, 25.0])
def test_a_slideshow_of_the_persons_photos_in_the_challenge_order_is_refused(photos, analyzers, aligned,
                                                                             fps) -> None:  # fmt: skip
    for steps in ((L, R), (R, L)):
        verdict = check(slideshow(photos, steps, aligned=aligned, fps=fps), steps, analyzers)
        assert not verdict.live, verdict
        assert verdict.reason in (Reason.POSE_JUMP, Reason.FRAMING_JUMP), verdict  # caught by continuity


def test_a_still_photo_is_refused(photos, analyzers) -> None:
    frame = held(frontal(photos).image)
    verdict = check(((k / FPS, frame) for k in range(40)), (L, R), analyzers)
    assert verdict.reason is Reason.INCOMPLETE and verdict.frames > 30  # seen all along, never moving
