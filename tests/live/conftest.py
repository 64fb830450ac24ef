"""Fixtures for live recognition: real video frames, an in-memory gallery, a fake camera file for Chromium."""

from __future__ import annotations

import glob
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.harness import read_frames
from recognition.domain.matching import InMemoryGallery, MatchPolicy, match_faces
from recognition.engine.imageio import decode_image
from recognition.engine.live import Match

HAMILTON = "video/facerec_short_hamilton_clip.mp4"


def write_y4m(frames: list[np.ndarray], path: Path, fps: int = 25) -> Path:
    """A YUV4MPEG2 file (what Chromium's fake camera plays), written without ffmpeg."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="session")
def hamilton_frames(faces_data: Path) -> list[np.ndarray]:
    return read_frames(faces_data / HAMILTON)


@pytest.fixture(scope="session")
def live_analyzer():
    from recognition.engine.analyzer import FaceAnalyzer
    from recognition.engine.model_store import ModelMissing, ModelStore
    from recognition.engine.runtime import RuntimeOptions, SessionFactory

    try:
        return FaceAnalyzer.from_pack("arcface", ModelStore(), SessionFactory(RuntimeOptions()), tight_crops="small")
    except ModelMissing as exc:
        pytest.skip(f"model files missing ({exc})")


@pytest.fixture(scope="session")
def hamilton_cast(faces_data: Path, live_analyzer) -> dict[int, tuple[str, list[np.ndarray]]]:
    """The two people the source pairs with the Hamilton clip, embedded from their identity photos."""
    cast = {}
    for person_id, folder in [(1, "facerec_lin_manuel_miranda"), (2, "facerec_alex_lacamoire")]:
        vectors = []
        for file in sorted(glob.glob(str(faces_data / "identities" / folder / "*"))):
            faces = live_analyzer.analyze(decode_image(Path(file)), emotion=False, max_faces=1)
            vectors.append(faces[0].embedding)
        cast[person_id] = (folder.removeprefix("facerec_"), vectors)
    return cast


def gallery_matcher(cast: dict[int, tuple[str, list[np.ndarray]]], policy: MatchPolicy):
    vectors = [v for _, (_, vs) in sorted(cast.items()) for v in vs]
    ids = [pid for pid, (_, vs) in sorted(cast.items()) for _ in vs]
    gallery = InMemoryGallery(np.array(vectors), ids)
    names = {pid: name for pid, (name, _) in cast.items()}

    def matcher(embeddings: np.ndarray) -> list[Match]:
        decisions = match_faces(list(embeddings), gallery.search, policy)
        return [
            Match(d.person_id, names.get(d.person_id, "unknown"), d.score, d.margin, d.candidate_id, policy.threshold)
            for d in decisions
        ]

    return matcher


# ---- people taking turns at one place ---------------------------------------------------------------------
TURN_FRAMES = 21  # odd, so that the swaps fall on detection frames and on frames in between alike


@pytest.fixture(scope="session")
def turn_takers(faces_data: Path, live_analyzer) -> dict[int, tuple[str, list[np.ndarray]]]:
    """Obama and Biden as a gallery (embedded from photos the video does not use) and one other photo each."""
    from bench.compose_cuts import select_portraits

    portraits, gallery = select_portraits(live_analyzer, faces_data / "identities")
    chosen = {p.person: p for p in portraits}
    cast = {}
    for person_id, folder in [(1, "facerec_obama"), (2, "facerec_biden")]:
        vectors = [live_analyzer.analyze(decode_image(f), emotion=False, max_faces=1)[0].embedding
                   for f in gallery[folder]]  # fmt: skip
        cast[person_id] = (folder.removeprefix("facerec_"), vectors, chosen[folder])
    return cast


def turns_video(cast, turns: int = 6, *, size: tuple[int, int] = (1280, 720), face_side: int = 150):
    """People taking turns at one kiosk position: their photo crops replace each other at the same place on a
    large still background, every TURN_FRAMES frames, with a little drift. The face is a small part of the
    frame, so the change hardly moves the whole picture (the whole-frame cut test does not fire): what must
    notice it is the check of the face under its track. Returns the frames and, per frame, whose face it is."""
    from bench.compose_cuts import face_crop

    width, height = size
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(
        cv2.resize(rng.integers(30, 110, (height // 6, width // 6, 3), dtype=np.uint8), size), (0, 0), 2
    )
    crops = {pid: face_crop(decode_image(p.path), p.box) for pid, (_, _, p) in cast.items()}
    order = [1 + (k % 2) for k in range(turns)]
    frames, who = [], []
    for person_id in order:
        patch = cv2.resize(crops[person_id], (face_side, face_side), interpolation=cv2.INTER_AREA)
        for k in range(TURN_FRAMES):
            frame = background.copy()
            x, y = width // 2 - face_side // 2 + k % 3, height // 2 - face_side // 2
            frame[y : y + face_side, x : x + face_side] = patch
            frames.append(frame)
            who.append(cast[person_id][0])
    return frames, who
