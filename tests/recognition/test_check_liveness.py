"""`manage.py check_liveness VIDEO --challenge ...` on the real head-turn videos: one JSON object, exit 0 when
live, 1 when not, 2 on bad input (with the reason on stderr)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def video(faces_data: Path):
    def path(name: str) -> Path:
        found = faces_data / "video" / name
        if not found.is_file():
            pytest.skip(f"{name} not in the shared data")
        return found

    return path


@pytest.fixture
def models_present() -> None:
    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:
        face_analyzer(video=True)
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"models not available ({exc}); run `python manage.py fetch_models`")


def run(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("check_liveness", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def test_a_real_head_doing_the_challenge_is_live(video, models_present) -> None:
    # The man turns toward image right at 4-6.5 s, then looks up on the way back (PROVENANCE.md 3b).
    code, report = run(str(video("metricaltracker_wojtek.mp4")), "--challenge", "turn_right,look_up")
    assert code == 0 and report["live"] is True and report["reason"] is None
    assert [s["step"] for s in report["steps"]] == ["turn_right", "look_up"]
    first, second = report["steps"]
    assert 3.5 < first["at_s"] < 6.5 < second["at_s"] < 9.5  # when he really does them
    assert second["took_s"] == pytest.approx(second["at_s"] - first["at_s"], abs=0.01)


def test_the_wrong_order_or_no_turn_is_not_live(video, models_present) -> None:
    code, report = run(str(video("metricaltracker_wojtek.mp4")), "--challenge", "turn_left,turn_right")
    assert code == 1 and report["live"] is False and report["reason"] == "wrong_order"
    code, report = run(str(video("pyfeat_single_face.mp4")), "--challenge", "turn_left,turn_right")
    assert code == 1 and report["reason"] == "incomplete" and report["steps"] == []


def test_gifs_are_decoded(video, models_present) -> None:
    # 12.5 fps, turns toward image right from 0.75 s: the step is seen, but 1.9 s are too short to judge.
    code, report = run(str(video("intel_head-pose-female_preview.gif")), "--challenge", "turn_right")
    assert code == 1 and report["steps"][0]["step"] == "turn_right" and report["reason"] == "too_few_frames"


@pytest.mark.parametrize(("args", "message"), [
    (["missing.mp4", "--challenge", "turn_left"], "no such video file"),
    (["{video}", "--challenge", "turn_left,sideways"], "unknown challenge step 'sideways'"),
    (["{video}", "--challenge", "turn_left,turn_left"], "each step may appear once"),
    (["{video}", "--challenge", ","], "empty"),
    (["{text}", "--challenge", "turn_left"], "cannot decode"),
    (["{video}", "--challenge", "turn_left", "--timeout", "0"], "positive"),
])  # fmt: skip
def test_bad_input_is_exit_2_with_a_message(args, message, video, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    args = [a.format(video=video("pyfeat_single_face.mp4"), text=text) for a in args]
    with pytest.raises(CommandError, match=message) as caught:
        call_command("check_liveness", *args)
    assert caught.value.returncode == 2


def test_the_exit_code_reaches_the_shell(video) -> None:
    result = subprocess.run([sys.executable, "manage.py", "check_liveness", str(video("pyfeat_single_face.mp4")),
                             "--challenge", "turn_up"], cwd=REPO, capture_output=True, text=True,
                            env=os.environ, timeout=120)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert "unknown challenge step 'turn_up'" in result.stderr
