"""Attendance from a live stream is recorded for the person whose face it was, never for a carried-over name."""

from io import StringIO

import pytest
from django.core.management import call_command

from attendance.models import AttendanceEvent, UnknownFace
from recognition.live.streams import LiveStream
from tests.live.conftest import HAMILTON, turns_video
from tests.live.test_live_socket import enroll_cast


def enroll_turn_takers(turn_takers) -> dict[str, int]:
    return enroll_cast({pid: (name, vectors) for pid, (name, vectors, _) in turn_takers.items()})


@pytest.mark.django_db
def test_two_people_alternating_at_one_kiosk_position_each_get_their_own_check_in(turn_takers) -> None:
    ids = enroll_turn_takers(turn_takers)
    frames, _ = turns_video(turn_takers, turns=4)
    stream = LiveStream(source="kiosk", stream_id="kiosk-door")
    for frame in frames:
        stream.process(frame)
    events = list(AttendanceEvent.objects.order_by("at", "pk"))
    assert {e.person_id for e in events} == {ids["obama"], ids["biden"]}
    assert [e.kind for e in events] == ["check_in", "check_in"]  # later turns fall inside the cooldown
    assert all(e.source == "kiosk" for e in events)


@pytest.mark.django_db
def test_recognize_records_nothing_unless_asked(faces_data, hamilton_cast, tmp_path) -> None:
    enroll_cast(hamilton_cast)
    out = StringIO()
    call_command("recognize", video=faces_data / HAMILTON, max_frames=40, stdout=out)
    assert AttendanceEvent.objects.count() == 0
    assert "attendance: not recorded" in out.getvalue()


@pytest.mark.django_db
def test_recognize_records_at_the_source_it_is_given(faces_data, hamilton_cast, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    ids = enroll_cast(hamilton_cast)
    out = StringIO()
    call_command("recognize", video=faces_data / HAMILTON, max_frames=40, attendance="camera", stdout=out)
    events = AttendanceEvent.objects.all()
    assert {e.person_id for e in events} == {ids["lin_manuel_miranda"], ids["alex_lacamoire"]}
    assert {e.source for e in events} == {"camera"}
    assert "recorded at source 'camera' for 2 people" in out.getvalue()


@pytest.mark.django_db
def test_a_face_no_one_enrolled_is_recorded_as_unknown_once_per_turn(turn_takers, settings) -> None:
    settings.UNKNOWN_FACE_MIN_S, settings.UNKNOWN_FACE_ALERT_S = 0.0, 0.05
    ids = enroll_cast({pid: cast for pid, cast in enroll_turn_takers_input(turn_takers).items() if cast[0] == "obama"})
    frames, _ = turns_video(turn_takers, turns=4)  # obama, biden, obama, biden
    stream = LiveStream(source="kiosk", stream_id="kiosk-door")
    for frame in frames:
        stream.process(frame)
    assert set(AttendanceEvent.objects.values_list("person_id", flat=True)) == {ids["obama"]}
    unknown = list(UnknownFace.objects.order_by("first_seen_at"))
    assert len(unknown) == 2  # biden's two turns; obama's are named, never "unknown"
    assert all(u.source == "kiosk" and u.stream.startswith("kiosk-door/track-") and u.device is None for u in unknown)
    assert all(u.seen_s >= 0.05 for u in unknown)  # each was reported again at the alert time
    assert all(u.nearest_score is None or u.nearest_score < 0.5 for u in unknown)


@pytest.mark.django_db
def test_a_stream_that_records_nothing_records_no_unknown_faces(turn_takers, settings) -> None:
    settings.UNKNOWN_FACE_MIN_S = 0.0
    frames, _ = turns_video(turn_takers, turns=2)
    stream = LiveStream(source=None, stream_id="member-page")  # nobody enrolled: every face is unknown
    for frame in frames:
        stream.process(frame)
    assert not UnknownFace.objects.exists()


def enroll_turn_takers_input(turn_takers):
    return {pid: (name, vectors) for pid, (name, vectors, _) in turn_takers.items()}
