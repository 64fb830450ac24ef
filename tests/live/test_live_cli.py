"""The original's main.py, as management commands: recognise a video, enroll from a camera (here: a video)."""

from io import StringIO
from pathlib import Path

import cv2
import pytest
from django.core.management import CommandError, call_command

from recognition.models import FaceImage, Person
from tests.live.conftest import HAMILTON
from tests.live.test_live_socket import enroll_cast


@pytest.mark.django_db
def test_recognize_a_video_writes_an_annotated_copy(faces_data, hamilton_cast, tmp_path: Path) -> None:
    enroll_cast(hamilton_cast)
    out = tmp_path / "annotated.avi"
    stdout = StringIO()
    call_command("recognize", video=faces_data / HAMILTON, out=out, max_frames=50, stdout=stdout)
    text = stdout.getvalue()
    assert "50 frames" in text
    assert "lin_manuel_miranda" in text
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 50
    ok, frame = capture.read()
    assert ok and frame.shape[:2] == (360, 640)


@pytest.mark.django_db
def test_recognize_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such video file"):
        call_command("recognize", video=tmp_path / "nope.mp4")


@pytest.mark.django_db
def test_enroll_camera_keeps_distinct_good_frames(faces_data, settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    stdout = StringIO()
    call_command("enroll_camera", person="Stage Performer", video=str(faces_data / HAMILTON), count=3,
                 timeout=120, stdout=stdout)  # fmt: skip
    person = Person.objects.get(slug="stage-performer")
    assert person.images.count() == 3
    assert person.images.filter(status=FaceImage.Status.ENROLLED).count() >= 2, stdout.getvalue()
    assert "enrolled" in stdout.getvalue()


@pytest.mark.django_db
def test_recognize_writes_one_json_line_per_frame_and_a_summary_with_times(faces_data, hamilton_cast,
                                                                          tmp_path: Path) -> None:  # fmt: skip
    import json

    enroll_cast(hamilton_cast)
    lines_path = tmp_path / "seen.jsonl"
    stdout = StringIO()
    call_command("recognize", video=faces_data / HAMILTON, jsonl=lines_path, max_frames=30, stdout=stdout)
    records = [json.loads(line) for line in lines_path.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(30))
    faces = [face for r in records for face in r["faces"]]
    assert faces and set(faces[0]) == {"track_id", "box", "name", "person_id", "score", "emotion"}
    named = [face for face in faces if face["name"] == "lin_manuel_miranda"]
    assert named and all(face["person_id"] is not None and len(face["box"]) == 4 for face in named)
    text = stdout.getvalue()
    # first and last time seen, by the video's clock: 30 frames at 29.97 fps end before 1 s
    assert "lin_manuel_miranda: 00:00.0" in text and " - 00:00." in text, text


@pytest.mark.django_db
def test_recognize_refuses_an_unknown_attendance_source(faces_data) -> None:
    with pytest.raises(CommandError, match="unknown attendance source .bedroom.; one of api, camera"):
        call_command("recognize", "--video", str(faces_data / HAMILTON), "--attendance", "bedroom")


@pytest.mark.django_db
def test_recognize_says_when_the_jsonl_cannot_be_written(faces_data, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CommandError, match="cannot write"):
        call_command("recognize", video=faces_data / HAMILTON, jsonl=blocker / "seen.jsonl", max_frames=2)
