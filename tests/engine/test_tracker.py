"""SORT on synthetic box sequences: steady motion, crossing paths, misses and re-appearances."""

import numpy as np

from recognition.engine.tracker import SortTracker, iou_matrix


def box(cx: float, cy: float, size: float = 40) -> list[float]:
    return [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]


def ids_by_x(tracks) -> dict[int, float]:
    return {t.track_id: (t.box[0] + t.box[2]) / 2 for t in tracks}


def test_iou_matrix_known_values() -> None:
    a = np.array([[0, 0, 10, 10]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float32)
    assert np.allclose(iou_matrix(a, b), [[1.0, 1 / 3, 0.0]], atol=1e-6)


def test_two_faces_moving_steadily_keep_their_ids() -> None:
    tracker = SortTracker(min_hits=1)
    first = None
    for frame in range(30):
        tracks = tracker.update(np.array([box(100 + 3 * frame, 100), box(400 - 3 * frame, 300)]))
        if first is None:
            first = {t.track_id for t in tracks}
        assert {t.track_id for t in tracks} == first
    assert len(first) == 2


def test_crossing_paths_do_not_swap_ids() -> None:
    """Two faces cross horizontally at different heights with overlapping boxes; the Kalman velocity keeps
    each id on its own path through the crossing."""
    tracker = SortTracker(min_hits=1, iou_threshold=0.1)
    left_to_right = right_to_left = None
    for frame in range(40):
        x_a, x_b = 100 + 8 * frame, 420 - 8 * frame
        tracks = tracker.update(np.array([box(x_a, 200), box(x_b, 215)]))
        positions = ids_by_x(tracks)
        if frame == 0:
            left_to_right = min(positions, key=positions.get)
            right_to_left = max(positions, key=positions.get)
        assert abs(positions[left_to_right] - x_a) < 10, f"frame {frame}: ids swapped"
        assert abs(positions[right_to_left] - x_b) < 10, f"frame {frame}: ids swapped"


def test_short_miss_keeps_the_id_and_the_box_is_predicted() -> None:
    tracker = SortTracker(min_hits=1, max_age=5)
    for frame in range(10):
        (track,) = tracker.update(np.array([box(100 + 5 * frame, 100)]))
    track_id = track.track_id
    for frame in range(10, 13):  # three frames without a detection
        shown = tracker.update(np.empty((0, 4)))
        assert [t.track_id for t in shown] == ([track_id] if frame == 10 else [])  # one miss is still drawn
        (kept,) = tracker.tracks  # but the track lives on, predicted
        predicted_cx = (kept.box[0] + kept.box[2]) / 2
        assert abs(predicted_cx - (100 + 5 * frame)) < 6  # moved on with its velocity
    (back,) = tracker.update(np.array([box(100 + 5 * 13, 100)]))
    assert back.track_id == track_id


def test_long_absence_ends_the_track_and_a_reappearance_gets_a_new_id() -> None:
    tracker = SortTracker(min_hits=1, max_age=3)
    (track,) = tracker.update(np.array([box(100, 100)]))
    for _ in range(5):
        tracker.update(np.empty((0, 4)))
    assert tracker.tracks == []
    (again,) = tracker.update(np.array([box(100, 100)]))
    assert again.track_id != track.track_id


def test_min_hits_hides_one_frame_false_positives_after_warmup() -> None:
    tracker = SortTracker(min_hits=3)
    for frame in range(5):
        tracker.update(np.array([box(100 + frame, 100)]))
    tracks = tracker.update(np.array([box(100 + 5, 100), box(400, 400)]))  # a one-frame blip at 400,400
    assert len(tracks) == 1


def test_prediction_frames_advance_tracks_without_detection() -> None:
    tracker = SortTracker(min_hits=1)
    for frame in range(0, 20, 2):  # detection every second frame, prediction in between
        tracker.update(np.array([box(100 + 4 * frame, 100)]))
        (predicted,) = tracker.predict()
        assert abs((predicted.box[0] + predicted.box[2]) / 2 - (100 + 4 * (frame + 1))) < 8
