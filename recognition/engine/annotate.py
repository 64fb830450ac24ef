"""Drawing live results onto frames (boxes, names, scores, emotions, track ids), for annotated videos."""

from __future__ import annotations

import cv2
import numpy as np

from recognition.engine.live import TrackResult

KNOWN = (113, 204, 46)  # BGR green
UNKNOWN = (34, 126, 230)  # BGR orange


def draw_tracks(frame_bgr: np.ndarray, tracks: list[TrackResult], *, emotion: bool = True) -> np.ndarray:
    """A copy of the frame with each track's box and label drawn on it."""
    out = frame_bgr.copy()
    for track in tracks:
        x1, y1, x2, y2 = (int(round(v)) for v in track.box)
        colour = KNOWN if track.person_id is not None else UNKNOWN
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        label = f"#{track.track_id} " + (track.name or "...")
        if track.person_id is not None:
            label += f" {track.score:.2f}"
        if emotion and track.emotion:
            label += f" | {track.emotion}"
        (w, h), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(0, y1 - h - baseline - 4)
        cv2.rectangle(out, (x1, top), (x1 + w + 6, top + h + baseline + 4), (0, 0, 0), -1)
        cv2.putText(out, label, (x1 + 3, top + h + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out
