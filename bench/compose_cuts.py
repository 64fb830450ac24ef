"""A cut-heavy test video composed from the shared identity photos, with its truth file and its gallery.

    python -m bench.compose_cuts --out DIR [--seed 7] [--shots 16]

writes DIR/cuts.mp4 (640x360, 30 fps), DIR/truth.csv (`frame,x1,y1,x2,y2,name`, for `bench identity`) and
DIR/gallery/<person>/<image> (links to the photos the gallery is enrolled from). What it stages is what live
video gets wrong when a track outlives its face:
- hard cuts between different people at the same place (the new face lands where the old track's box is);
- two faces a frame, and cuts where one face stays and only the other is swapped (little of the frame changes);
- people who are not in the gallery (`unknown` in the truth);
- the same person again after a cut, from another photo.
Every face in the video comes from a photo the gallery does NOT hold (one photo per person is kept out), so
recognition is a real open-set match, not a lookup of the same pixels. Each face drifts and zooms slowly
within its shot, so the tracker has motion to follow. The truth region of a face is the rectangle its photo
crop was pasted into: it holds that one face and nothing else.
The output is a pure function of the seed and the shared photos (detections on the photos choose the crops),
so `bench/truth/composed_cuts.csv` in the repo is what `--seed 7` writes.
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.harness import SHARED_FACES, BenchSetupError

WIDTH, HEIGHT, FPS = 640, 360, 30.0
# People who never enter the gallery: the strangers of the video.
STRANGERS = ("deepface_p07", "deepface_p08", "deepface_p09", "dlib_John_Simm", "facerec_rose_leslie")
SLOTS_ONE = ((320, 180),)
SLOTS_TWO = ((190, 180), (450, 180))
CROP_SCALE = 1.5  # the pasted crop around a face box (x its size): some hair and background, no neighbour


@dataclass(frozen=True)
class Portrait:
    person: str  # the identity folder name; the truth says `unknown` for strangers
    path: Path
    box: tuple[float, float, float, float]  # the face in the photo


@dataclass
class Shot:
    frames: int
    faces: list[tuple[Portrait, tuple[int, int]]]  # (who, slot centre)


def _one_face_box(analyzer, path: Path) -> tuple[float, float, float, float] | None:
    """The photo's face box when it holds exactly one clear face (a second face would be in the crop)."""
    from recognition.engine.imageio import decode_image

    detections = analyzer.detect(decode_image(path))
    if len(detections) != 1:
        return None
    x1, y1, x2, y2 = (float(v) for v in detections[0].box)
    return (x1, y1, x2, y2) if min(x2 - x1, y2 - y1) >= 60 else None


def select_portraits(analyzer, identities: Path) -> tuple[list[Portrait], dict[str, list[Path]]]:
    """One video photo per person (their first single-face photo) and the gallery photos (the rest; none
    for strangers). People with a single usable photo are used only as strangers-by-absence if listed."""
    video, gallery = [], {}
    for folder in sorted(p for p in identities.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.is_file())
        chosen = None
        for path in files:
            box = _one_face_box(analyzer, path)
            if box is not None:
                chosen = Portrait(folder.name, path, box)
                break
        if chosen is None:
            continue
        rest = [p for p in files if p != chosen.path]
        if folder.name in STRANGERS:
            video.append(chosen)
        elif rest:
            video.append(chosen)
            gallery[folder.name] = rest
    return video, gallery


def plan_shots(portraits: list[Portrait], shots: int, seed: int) -> list[Shot]:
    """Shots of 0.6-1.6 s. One or two faces; consecutive shots put a different person at the same slot, and
    about one cut in four keeps one face and swaps only the other."""
    rng = random.Random(seed)
    known = [p for p in portraits if p.person not in STRANGERS]
    strangers = [p for p in portraits if p.person in STRANGERS]

    def pick(exclude: set[str]) -> Portrait:
        pool = strangers if rng.random() < 0.3 else known
        choices = [p for p in pool if p.person not in exclude] or [p for p in known if p.person not in exclude]
        return rng.choice(choices)

    plan: list[Shot] = []
    previous: list[tuple[Portrait, tuple[int, int]]] = []
    for _ in range(shots):
        frames = rng.randint(18, 48)
        before = {p.person for p, _ in previous}
        if len(previous) == 2 and rng.random() < 0.35:
            keep = rng.randrange(2)
            stay = previous[keep]
            new = (pick(before), previous[1 - keep][1])
            faces = [stay, new] if keep == 0 else [new, stay]
        elif rng.random() < 0.5:
            first = pick(before)
            faces = [(first, SLOTS_TWO[0]), (pick(before | {first.person}), SLOTS_TWO[1])]
        else:
            faces = [(pick(before), SLOTS_ONE[0])]
        plan.append(Shot(frames, faces))
        previous = faces
    return plan


def face_crop(image: np.ndarray, box: tuple[float, float, float, float], scale: float = CROP_SCALE) -> np.ndarray:
    """A square crop `scale` times the face box around its centre (edges replicated where it leaves the photo)."""
    x1, y1, x2, y2 = box
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * scale
    h, w = image.shape[:2]
    pad = int(side)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    a, b = int(round(cx - side / 2)) + pad, int(round(cy - side / 2)) + pad
    return padded[b : b + int(side), a : a + int(side)]


def _background(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(40, 90, size=(HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC), (0, 0), 3)


def render(plan: list[Shot], video_path: Path, truth_path: Path, seed: int) -> int:
    """Writes the video and its truth rows; returns the number of frames."""
    from recognition.engine.imageio import decode_image

    rng = random.Random(seed + 1)
    background = _background(seed)
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise BenchSetupError(f"cannot write {video_path}")
    photos: dict[Path, np.ndarray] = {}
    index = 0
    with truth_path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["frame", "x1", "y1", "x2", "y2", "name"])
        for shot in plan:
            moves = []
            for portrait, slot in shot.faces:
                if portrait.path not in photos:
                    photos[portrait.path] = decode_image(portrait.path)
                crop = face_crop(photos[portrait.path], portrait.box)
                size0 = rng.uniform(150, 175) if len(shot.faces) == 2 else rng.uniform(160, 220)
                moves.append((portrait, crop, slot, size0, rng.uniform(-0.08, 0.08),
                              rng.uniform(-14, 14), rng.uniform(-10, 10)))  # fmt: skip
            for k in range(shot.frames):
                t = k / max(1, shot.frames - 1)
                frame = background.copy()
                for portrait, crop, (sx, sy), size0, zoom, dx, dy in moves:
                    side = int(round(size0 * (1 + zoom * t)))
                    x1 = int(round(sx + dx * t - side / 2))
                    y1 = int(round(sy + dy * t - side / 2))
                    patch = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
                    fx1, fy1, fx2, fy2 = max(x1, 0), max(y1, 0), min(x1 + side, WIDTH), min(y1 + side, HEIGHT)
                    frame[fy1:fy2, fx1:fx2] = patch[fy1 - y1 : fy2 - y1, fx1 - x1 : fx2 - x1]
                    name = "unknown" if portrait.person in STRANGERS else portrait.person
                    out.writerow([index, fx1, fy1, fx2, fy2, name])
                writer.write(frame)
                index += 1
    writer.release()
    return index


def write_gallery(gallery: dict[str, list[Path]], root: Path) -> None:
    for person, files in gallery.items():
        folder = root / person
        folder.mkdir(parents=True, exist_ok=True)
        for path in files:
            link = folder / path.name
            if not link.exists():
                link.symlink_to(path)


def compose(out: Path, *, seed: int = 7, shots: int = 24, identities: Path | None = None) -> dict:
    from bench.live import build_analyzer, session_factory

    identities = identities or SHARED_FACES / "identities"
    if not identities.is_dir():
        raise BenchSetupError(f"identity photos not found in {identities} (../shared beside the repo)")
    analyzer = build_analyzer("arcface", session_factory(0, False), "auto")
    portraits, gallery = select_portraits(analyzer, identities)
    plan = plan_shots(portraits, shots, seed)
    out.mkdir(parents=True, exist_ok=True)
    frames = render(plan, out / "cuts.mp4", out / "truth.csv", seed)
    write_gallery(gallery, out / "gallery")
    people = {p.person for shot in plan for p, _ in shot.faces}
    return {"video": out / "cuts.mp4", "truth": out / "truth.csv", "gallery": out / "gallery",
            "frames": frames, "shots": len(plan), "people": len(people),
            "strangers": len(people & set(STRANGERS))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shots", type=int, default=24)
    args = parser.parse_args(argv)
    made = compose(args.out, seed=args.seed, shots=args.shots)
    print(", ".join(f"{k}: {v}" for k, v in made.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

