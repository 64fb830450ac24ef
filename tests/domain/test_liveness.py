"""The pure liveness rules on synthetic landmark sequences: a live head that does the challenge passes; wrong
order, too slow, a slideshow of stills (pose or framing jumps), a flat photo warped in perspective, no face,
several faces and too few frames are refused with their reason; the state survives a round trip through JSON."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import numpy as np
import pytest

from recognition.domain.head_pose import head_pose, homography, mirror_box, mirror_keypoints, off_plane
from recognition.domain.liveness import (
    ChallengeStep,
    LivenessChecker,
    LivenessPolicy,
    Observation,
    Reason,
    Status,
    check_sequence,
    parse_challenge,
    random_challenge,
)
from tests.domain.synthetic import CENTRE, box_of, head_points, head_turns, observe, planar

L, R, U, D = ChallengeStep.TURN_LEFT, ChallengeStep.TURN_RIGHT, ChallengeStep.LOOK_UP, ChallengeStep.LOOK_DOWN
DOMAIN = Path(__file__).resolve().parents[2] / "recognition" / "domain"


def test_the_domain_imports_neither_django_nor_the_apps_nor_the_engine() -> None:
    allowed = {"numpy", "recognition"}  # recognition.domain only (checked below)
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])  # fmt: skip
            for name in names:
                root = name.split(".")[0]
                if root in allowed:
                    assert root == "numpy" or name.startswith("recognition.domain"), f"{path.name} imports {name}"
                else:
                    import sys

                    assert root in sys.stdlib_module_names or root == "__future__", f"{path.name} imports {name}"


# --- pose and the plane test ------------------------------------------------------------------------------
def test_pose_signs_are_in_image_terms() -> None:
    assert abs(head_pose(head_points()).yaw) < 1
    assert head_pose(head_points(yaw=25)).yaw > 15  # nose toward image right
    assert head_pose(head_points(yaw=-25)).yaw < -15
    assert head_pose(head_points(pitch=20)).pitch - head_pose(head_points()).pitch > 10  # chin up
    assert head_pose(head_points(pitch=-20)).pitch - head_pose(head_points()).pitch < -10


def test_mirroring_swaps_left_and_right() -> None:
    turned = head_points(yaw=25)
    mirrored = mirror_keypoints(turned, width=640)
    assert head_pose(mirrored).yaw == pytest.approx(-head_pose(turned).yaw, abs=1e-6)
    assert mirrored[0, 0] < mirrored[1, 0]  # still image-left eye first
    assert list(mirror_box([10, 20, 110, 220], 640)) == [530, 20, 630, 220]
    assert L.mirrored is R and R.mirrored is L and U.mirrored is U


def test_homography_maps_the_four_points_exactly() -> None:
    src = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    dst = np.array([[1, 2], [12, 1], [11, 13], [0, 9]], float)
    matrix = homography(src, dst)
    mapped = np.hstack([src, np.ones((4, 1))]) @ matrix.T
    assert np.allclose(mapped[:, :2] / mapped[:, 2:], dst)
    assert homography(np.array([[0, 0], [1, 1], [2, 2], [3, 3]], float), dst) is None  # collinear


def test_a_flat_photo_stays_in_its_plane_and_a_turning_head_leaves_it() -> None:
    frontal = head_points()
    for perspective in (0.0005, 0.002, -0.003):
        assert off_plane(frontal, planar(frontal, perspective, scale=1.2)) < 1e-6
    assert off_plane(frontal, head_points(yaw=20)) > 0.1
    assert off_plane(frontal, head_points(pitch=-15)) > 0.07


# --- challenges ------------------------------------------------------------------------------------------
def test_random_challenges_differ_and_always_ask_for_a_turn() -> None:
    seen = set()
    for _ in range(200):
        steps = random_challenge(2)
        assert len(set(steps)) == 2 and any(s.axis == "yaw" for s in steps)
        seen.add(steps)
    assert len(seen) >= 8  # 10 possible pairs with a turn
    assert len(random_challenge(4, random.Random(1))) == 4
    with pytest.raises(ValueError):
        random_challenge(5)


def test_parse_challenge() -> None:
    assert parse_challenge("turn_left, LOOK_UP") == (L, U)
    with pytest.raises(ValueError, match="unknown challenge step 'sideways'"):
        parse_challenge("turn_left,sideways")
    with pytest.raises(ValueError, match="empty"):
        parse_challenge(" , ")


# --- the checker on live heads ---------------------------------------------------------------------------
@pytest.mark.parametrize("fps", [8.0, 25.0])
@pytest.mark.parametrize(("steps", "moves"), [
    ((L, R), [(-25, 0), (25, 0)]),
    ((R, U, L), [(25, 0), (0, 20), (-25, 0)]),
    ((D, L), [(0, -20), (-25, 0)]),
])  # fmt: skip
def test_a_live_head_doing_the_challenge_passes(fps, steps, moves) -> None:
    verdict = check_sequence(steps, head_turns(moves, fps=fps))
    assert verdict.status is Status.LIVE, verdict
    assert [s.step for s in verdict.steps] == list(steps)
    assert all(s.off_plane > 0.06 for s in verdict.steps)
    times = [s.at_s for s in verdict.steps]
    assert times == sorted(times) and 1.0 < times[0] < times[-1] <= verdict.elapsed_s < 10


def test_the_wrong_order_fails() -> None:
    verdict = check_sequence((L, R), head_turns([(25, 0), (-25, 0)]))
    assert verdict.reason is Reason.WRONG_ORDER and verdict.detail["moved"] == "turn_right"


def test_too_slow_fails_with_timeout() -> None:
    verdict = check_sequence((L, R), head_turns([(-25, 0), (25, 0)], still_s=3.0), LivenessPolicy(timeout_s=3.5))
    assert verdict.reason is Reason.TIMEOUT


def test_a_head_that_does_not_turn_far_enough_is_incomplete() -> None:
    verdict = check_sequence((L, R), head_turns([(-6, 0), (6, 0)]))
    assert verdict.reason is Reason.INCOMPLETE and verdict.steps == ()


# --- attacks -----------------------------------------------------------------------------------------------
def stills(poses, fps=10.0, hold_s=0.8, scales=None, seed=0) -> list[Observation]:
    """A slideshow: each (yaw, pitch) still held for hold_s (the first one 1 s), switched in one frame."""
    rng = np.random.default_rng(seed)
    frames, t = [], 0.0
    for index, pose in enumerate(poses):
        scale = scales[index] if scales else 1.0
        for _ in range(int((1.0 if index == 0 else hold_s) * fps)):
            frames.append(observe(t, head_points(*pose, scale=scale), rng, noise=0.3))
            t += 1 / fps
    return frames


@pytest.mark.parametrize("fps", [8.0, 25.0])
def test_a_slideshow_of_stills_fails_on_the_pose_jump(fps) -> None:
    verdict = check_sequence((L, R), stills([(0, 0), (-25, 0), (0, 0), (25, 0)], fps=fps))
    assert verdict.reason is Reason.POSE_JUMP and verdict.steps == ()


def test_photos_framed_differently_fail_on_the_framing_jump() -> None:
    verdict = check_sequence((L, R), stills([(0, 0), (-25, 0), (0, 0), (25, 0)], scales=[1.0, 1.4, 1.0, 0.8]))
    assert verdict.reason is Reason.FRAMING_JUMP


def test_a_flat_photo_warped_to_look_turned_fails_as_flat() -> None:
    """A photo tilted in strong perspective moves its nose off the eye-mouth midline (the pose estimate sees a
    turn) but every keypoint follows one homography: refused as flat."""
    reference = head_points()
    assert head_pose(planar(reference, 0.0125)).yaw - head_pose(reference).yaw > 15
    rng = np.random.default_rng(3)
    frames, t = [], 0.0
    for k in range(60):
        t = k / 10
        tilt = 0.0 if t < 1 else 0.0125 * min(1.0, (t - 1) / 0.6) if t < 2.4 else max(0.0, 0.0125 * (3 - t) / 0.6)
        frames.append(observe(t, planar(reference, -tilt), rng, noise=0.2))
    verdict = check_sequence((L, R), frames)
    assert verdict.reason is Reason.FLAT, verdict
    assert verdict.detail["off_plane"] < 0.06


def test_a_still_photo_never_passes() -> None:
    rng = np.random.default_rng(0)
    frames = [observe(k / 10, head_points(), rng) for k in range(80)]
    assert check_sequence((L, R), frames).reason is Reason.INCOMPLETE


# --- faces and frames ------------------------------------------------------------------------------------
def test_several_faces_fail_at_once() -> None:
    face = head_points()
    other = head_points(shift=(200, 0))
    checker = LivenessChecker((L, R))
    checker.observe(observe(0.0, face))
    verdict = checker.observe(Observation.of(0.1, [(face, box_of(face)), (other, box_of(other))]))
    assert verdict.reason is Reason.SEVERAL_FACES and verdict.detail == {"faces": 2}


def test_the_face_may_vanish_only_briefly() -> None:
    frames = head_turns([(-25, 0), (25, 0)])
    brief = [f if not 14 <= i <= 17 else Observation(f.t, ()) for i, f in enumerate(frames)]  # 0.4 s
    assert check_sequence((L, R), brief).live
    long = [f if not 14 <= i <= 24 else Observation(f.t, ()) for i, f in enumerate(frames)]  # 1.1 s
    assert check_sequence((L, R), long).reason is Reason.FACE_LOST


def test_too_few_frames_per_second_fail() -> None:
    frames = head_turns([(-25, 0), (25, 0)], fps=10.0, move_s=1.2, hold_s=0.6)
    sparse = frames[::4]  # 2.5 fps: continuity cannot be judged
    policy = LivenessPolicy(max_gap_s=1.0)
    assert check_sequence((L, R), sparse, policy).reason is Reason.TOO_FEW_FRAMES
    assert check_sequence((L, R), frames, policy).live


def test_no_face_and_no_frontal_start() -> None:
    assert check_sequence((L, R), [Observation(k / 10, ()) for k in range(30)]).reason is Reason.NO_FACE
    rng = np.random.default_rng(0)
    turned = [observe(k / 10, head_points(yaw=40), rng) for k in range(30)]
    assert check_sequence((L, R), turned).reason is Reason.NO_FRONTAL_START


def test_a_decision_is_final() -> None:
    checker = LivenessChecker((L, R))
    face = head_points()
    checker.observe(Observation.of(0.0, [(face, box_of(face)), (face + 300, box_of(face + 300))]))
    later = checker.observe(observe(0.1, face))
    assert later.status is Status.NOT_LIVE and later.reason is Reason.SEVERAL_FACES


def test_the_state_survives_a_json_round_trip_between_frames() -> None:
    frames = head_turns([(-25, 0), (0, 20)], seed=5)
    whole = check_sequence((L, U), frames)
    assert whole.live
    checker = LivenessChecker((L, U))
    for frame in frames:
        checker = LivenessChecker.from_state(json.loads(json.dumps(checker.to_state())))
        if checker.observe(frame).decided:
            break
    verdict = checker.finish()
    assert verdict.live and [s.step for s in verdict.steps] == [L, U]
    assert [round(s.at_s, 2) for s in verdict.steps] == [round(s.at_s, 2) for s in whole.steps]
    assert len(json.dumps(checker.to_state())) < 2000  # small enough for a session


def test_verdict_as_dict_is_codes_and_numbers() -> None:
    verdict = check_sequence((L, R), head_turns([(-25, 0), (25, 0)]))
    data = verdict.as_dict()
    assert data["live"] is True and data["reason"] is None and data["status"] == "live"
    assert [s["step"] for s in data["steps"]] == ["turn_left", "turn_right"]
    json.dumps(data)
    assert CENTRE.shape == (2,)


def test_a_photo_tilted_far_enough_to_look_turned_foreshortens_more_than_a_head() -> None:
    """A flat photo only shows a turn when tilted far: its eyes close up against the face's height far more
    than a turning head's do. The checker refuses that as flat even when the nose seems to leave the plane
    (the detector's nose on a tilted photo follows its idea of a turned face)."""
    from recognition.domain.head_pose import foreshortening

    frontal = head_points()
    head = head_points(yaw=18)
    assert foreshortening(frontal, box_of(frontal), head, box_of(head))[0] < 18 + 8
    squeezed = frontal.copy()
    squeezed[:, 0] = CENTRE[0] + (squeezed[:, 0] - CENTRE[0]) * np.cos(np.radians(35))  # a 35 degree tilt
    squeezed[2, 0] += 0.15 * 60  # and a nose the detector moved as for a turned head
    box = box_of(frontal)
    assert foreshortening(frontal, box, squeezed, box)[0] > 30
    rng = np.random.default_rng(1)
    frames = [observe(k / 10, frontal, rng, noise=0.2) for k in range(12)]
    for k in range(12, 40):
        f = min(1.0, (k - 12) / 6)
        points = frontal.copy()
        points[:, 0] = CENTRE[0] + (points[:, 0] - CENTRE[0]) * np.cos(np.radians(35 * f))
        points[2, 0] += 0.15 * 60 * f
        frames.append(Observation.of(k / 10, [(points + rng.normal(0, 0.2, (5, 2)), box)]))
    verdict = check_sequence((R, L), frames)
    assert verdict.reason is Reason.FLAT and verdict.detail["foreshortening_excess_deg"] > 0
