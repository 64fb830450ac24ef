"""`bench identity` must see a wrong name: its scoring on hand-made cases, its truth files, and its inputs."""

from pathlib import Path

import pytest

from bench.identity import Shown, TruthError, TruthRow, appearances, load_truth, score

TRUTH = Path(__file__).resolve().parents[2] / "bench" / "truth"


def row(frame: int, name: str, x: float = 0) -> TruthRow:
    return TruthRow(frame, (x, 0.0, x + 100.0, 100.0), name)


def box(name: str, x: float = 0) -> Shown:
    return Shown((x + 20.0, 20.0, x + 80.0, 80.0), name)


def test_a_name_on_the_wrong_face_a_stranger_or_nobody_counts_as_wrong() -> None:
    truth = {0: [row(0, "ada", 0), row(0, "unknown", 200)]}
    shown = [[box("bob", 0), box("ada", 200), box("ada", 500)]]  # wrong person, a stranger, no face there
    figures = score(shown, truth, fps=10)
    assert figures["named_boxes"] == 3 and figures["wrong_name"] == 3 and figures["wrong_name_rate"] == 1.0
    assert figures["unlabelled_named"] == 1
    assert figures["known_named_right_rate"] == 0.0 and figures["stranger_named_rate"] == 1.0


def test_right_names_unknowns_and_empty_boxes_are_not_wrong() -> None:
    truth = {0: [row(0, "ada", 0), row(0, "unknown", 200)], 1: [row(1, "ada", 0)]}
    shown = [[box("", 0), box("unknown", 200)], [box("ada", 0)]]
    figures = score(shown, truth, fps=10)
    assert figures["wrong_name"] == 0 and figures["named_boxes"] == 1
    assert figures["known_named_right_rate"] == 0.5 and figures["stranger_named_rate"] == 0.0
    assert figures["seconds_to_name"] == 0.1  # named one frame (at 10 fps) after the face appeared


def test_seconds_to_name_is_per_appearance_and_says_never() -> None:
    # ada at one place (frames 0-4), then after a cut at another place (frames 5-9); named only the first time
    truth = {f: [row(f, "ada", 0 if f < 5 else 300)] for f in range(10)}
    shown = [[box("ada", 0)] if f in (2, 3, 4) else [] for f in range(10)]
    assert [(name, start) for name, start, _ in appearances(truth)] == [("ada", 0), ("ada", 5)]
    figures = score(shown, truth, fps=10)
    assert figures["appearances"] == 2 and figures["appearances_never_named"] == 1
    assert figures["seconds_to_name"] is None  # the median of (0.2, never) is never


def test_a_bad_truth_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_text("frame,x1,y1,x2,y2,name\n0,1,1,50,50,ada\n1,60,1,50,50,ada\n")
    with pytest.raises(TruthError, match=r"truth.csv:3: bad row"):
        load_truth(path)
    path.write_text("frame,x1,y1,x2,name\n")
    with pytest.raises(TruthError, match="missing columns"):
        load_truth(path)


def test_the_shipped_truth_files_are_whole_and_well_formed() -> None:
    hamilton = load_truth(TRUTH / "hamilton.csv")
    # every frame has a labelled face but 50-81, where only the out-of-focus audience is seen (left unlabelled)
    assert sorted(hamilton) == [f for f in range(275) if not 50 <= f <= 81]
    names = {r.name for rows in hamilton.values() for r in rows}
    assert names == {"facerec_lin_manuel_miranda", "facerec_alex_lacamoire", "facerec_obama", "unknown"}
    cuts = load_truth(TRUTH / "composed_cuts.csv")
    assert len(cuts) == 766 and "unknown" in {r.name for rows in cuts.values() for r in rows}


def test_the_composed_video_is_made_again_exactly(faces_data, tmp_path: Path) -> None:
    from bench.compose_cuts import compose

    made = compose(tmp_path, seed=7, shots=24, identities=faces_data / "identities")
    assert made["truth"].read_text() == (TRUTH / "composed_cuts.csv").read_text()
    gallery = {p.name for p in made["gallery"].iterdir()}
    assert "facerec_obama" in gallery and not gallery & {"deepface_p07", "facerec_rose_leslie"}  # strangers
