"""The enrollment quality gate decides with codes and figures; the words are made apart (recognition.rejections).
Pure: faces are built by hand, no model and no Django."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.domain.quality import QualityCode, QualityGate, Rejection
from recognition.engine.capture import Offer, PoseCollector
from recognition.engine.types import Detection, Face, Quality
from recognition.rejections import rejection_kind, rejection_words

GATE = QualityGate(min_face_px=80, min_sharpness=30.0, max_yaw=35.0, multiple_faces="reject")


def face(px: float = 120, blur: float = 100.0, yaw: float = 0.0, pitch: float = 0.0) -> Face:
    detection = Detection(box=np.array([0.0, 0.0, px, px]), score=0.9, kps=np.zeros((5, 2)))
    return Face(detection, Quality(face_px=px, blur=blur, yaw=yaw, pitch=pitch, brightness=120.0))


def test_a_good_single_face_is_chosen():
    subject = face()
    assert GATE.choose([subject]) is subject


@pytest.mark.parametrize(
    ("faces", "expected"),
    [
        ([], Rejection(QualityCode.NO_FACE)),
        ([face(px=50), face(px=60)], Rejection(QualityCode.FACE_TOO_SMALL, 60, 80)),
        ([face(px=120), face(px=100)], Rejection(QualityCode.SEVERAL_FACES, 2)),
        ([face(blur=12.5)], Rejection(QualityCode.BLURRED, 12.5, 30.0)),
        ([face(yaw=-40.0)], Rejection(QualityCode.TURNED_AWAY, -40.0, 35.0)),
    ],
)
def test_each_rejection_is_a_code_with_the_figures_that_decided_it(faces, expected):
    assert GATE.choose(faces) == expected


def test_background_faces_and_small_faces_do_not_count():
    subject = face(px=300)
    assert GATE.choose([subject, face(px=120), face(px=40)]) is subject  # 300 >= 2 x 120: the photo's subject
    assert GATE.choose([face(px=40), subject]) is subject


def test_largest_takes_the_biggest_of_several_faces():
    biggest = face(px=130)
    gate = QualityGate(min_face_px=80, min_sharpness=30.0, max_yaw=35.0, multiple_faces="largest")
    assert gate.choose([face(px=120), biggest]) is biggest


def test_a_rejection_is_frozen():
    with pytest.raises(AttributeError):
        Rejection(QualityCode.NO_FACE).code = QualityCode.BLURRED


@pytest.mark.parametrize(
    ("rejection", "words", "kind"),
    [
        (Rejection(QualityCode.NO_FACE), "no face found", "no face found"),
        (Rejection(QualityCode.FACE_TOO_SMALL, 60, 80), "face too small (60 px; at least 80 px)", "face too small"),
        (Rejection(QualityCode.SEVERAL_FACES, 3), "3 faces found; an enrollment image must show exactly one",
         "more than one face"),
        (Rejection(QualityCode.BLURRED, 12.54, 30), "too blurred (sharpness 12.5; at least 30.0)", "too blurred"),
        (Rejection(QualityCode.TURNED_AWAY, -40.2, 35), "face turned too far to the side (-40 degrees; at most 35)",
         "face turned too far to the side"),
    ],
)  # fmt: skip
def test_words_are_made_from_the_code_and_its_figures(rejection, words, kind):
    assert rejection_words(rejection) == words
    assert rejection_kind(rejection.code) == rejection_kind(str(rejection.code)) == kind


def test_every_code_has_words():
    for code in QualityCode:
        assert rejection_words(Rejection(code, 1.0, 2.0)) and rejection_kind(code)


def test_pose_collector_keeps_new_poses_and_hands_back_the_gate_s_rejection():
    collector = PoseCollector(GATE.choose, wanted=2, min_pose_step=6.0)
    frame = np.zeros((4, 4, 3), np.uint8)
    first = collector.offer(frame, [face(yaw=0.0)])
    assert first.kept and first.outcome is Offer.KEPT and first.refusal is None
    again = collector.offer(frame, [face(yaw=3.0)])
    assert again.outcome is Offer.DUPLICATE_POSE and again.face is not None and not again.kept
    refused = collector.offer(frame, [face(blur=5.0, yaw=20.0)])
    assert refused.outcome is Offer.REFUSED and refused.refusal == Rejection(QualityCode.BLURRED, 5.0, 30.0)
    assert collector.last is refused and not collector.done
    assert collector.offer(frame, [face(yaw=20.0)]).kept and collector.done
    assert len(collector.kept) == 2 and collector.poses == [(0.0, 0.0), (20.0, 0.0)]
