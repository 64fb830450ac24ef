"""The liveness challenge against real head turns and against attacks made from the shared photos:
python -m bench liveness [--json OUT] [--identities N] [--rates 1,2,3]

Genuine: windows of the real head-turn videos in ../shared/data/faces/video where the person really makes the
challenge's moves in that order (the windows are listed in GENUINE below with what happens in them), at the
video's own frame rate and subsampled (every 2nd and 3rd frame: 12.5 and 8.3 fps for the 25 fps video, the
capture page's rate), and each one again horizontally mirrored (a flipped frame: turn_left and turn_right
swap; the detector runs on the flipped image). Time-reversed clips are not used: reversed, a turn starts away
from the camera, which the challenge does not allow.

Attacks, per identity folder of ../shared/data/faces/identities, rendered as 8 fps camera frames (the capture
page's rate) on a plain background with sensor noise, each along a random challenge of 2 steps:
  tilt+/tilt-    the most frontal photo, printed and held up, tilted in perspective about the vertical axis
                 (turns) or the horizontal one (looks) by ~35 degrees, both ways, moved, scaled and shaken by
                 hand; in plain, printed-look (low contrast, paper texture) and screen-look (gamma, moire,
                 glare) versions
  steep+/steep-  the same, tilted ~55 degrees (a tilted photo must go far to look turned at all)
  bent+/bent-    the same photo bent like a half cylinder around its vertical midline (nose forward) and turned
  slideshow      the person's photos in the challenge's order (the most frontal, then the one turned most
                 toward each step), each held ~0.8 s; "raw" as the photos are framed, "aligned" scaled and
                 moved so the eyes and mouth sit where the first photo's did
  still          the most frontal photo, not moving
Every figure is a count of sequences; set sizes are printed and written to the JSON.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from bench.harness import (
    SHARED_FACES,
    LoadMonitor,
    machine,
    print_table,
    setup_django,
    write_json,
)

VIDEO = SHARED_FACES / "video"
IDENTITIES = SHARED_FACES / "identities"
R, L, U, D = "turn_right", "turn_left", "look_up", "look_down"
# (file, start seconds, the challenges the person does from there, in image terms; see PROVENANCE.md 3b)
GENUINE = [
    # one man, studio: frontal 0-4 s, turns toward image right (4-6.5 s), looks up on the way back (7-9 s),
    # turns toward image left (9.5-11.5 s), looks down (11.5-16 s)
    ("metricaltracker_wojtek.mp4", [0.0, 1.0, 2.0, 3.0, 3.5], [(R, U), (R, U, L), (R, U, L, D)]),
    # one woman: frontal at 0.7 s, toward image right 0.75-1.25 s, toward image left in the last frame
    ("intel_head-pose-female_preview.gif", [0.0], [(R, L)]),
    # desk webcams, one man each: side-to-side leans with the head turning (yaw 13-24 degrees from the start)
    ("headtrackr_capture4.mp4", [0.0, 0.5], [(L, R)]),
    ("headtrackr_capture4.mp4", [13.9], [(R, L)]),
    ("headtrackr_capture5.mp4", [0.0, 0.5], [(L, R), (L, R, L)]),
]
NEGATIVE = [("pyfeat_single_face.mp4", [(L, R), (R, L), (U, D)])]  # frontal throughout: must not pass
ATTACK_FPS = 8.0
FRAME = (640, 480)


# ---- genuine -----------------------------------------------------------------------------------------------
def video_observations(path: Path, analyzer, *, mirror: bool) -> list:
    from recognition.liveness import observe_faces

    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    observations, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if mirror:
            frame = cv2.flip(frame, 1)
        observations.append(observe_faces(index / fps, analyzer.detect(frame)))
        index += 1
    capture.release()
    if not observations:
        raise SystemExit(f"bench: no frame could be decoded from {path}")
    return observations


def run_genuine(analyzer, rates: list[int]) -> tuple[list[dict], list[dict]]:
    from recognition.domain.liveness import ChallengeStep, check_sequence

    rows, negatives = [], []
    cache: dict = {}
    for name, starts, challenges in GENUINE:
        for mirror in (False, True):
            key = (name, mirror)
            if key not in cache:
                cache[key] = video_observations(VIDEO / name, analyzer, mirror=mirror)
            observations = cache[key]
            for start in starts:
                for words in challenges:
                    steps = tuple(ChallengeStep(w) for w in words)
                    if mirror:
                        steps = tuple(s.mirrored for s in steps)
                    for rate in rates if not name.endswith(".gif") else [1]:  # the GIF is 12.5 fps already
                        window = [o for i, o in enumerate(observations) if o.t >= start and i % rate == 0]
                        verdict = check_sequence(steps, window)
                        rows.append({"video": name, "mirrored": mirror, "start_s": start, "every": rate,
                                     "challenge": ",".join(s.value for s in steps), "live": verdict.live,
                                     "reason": verdict.reason.value if verdict.reason else None,
                                     "seconds": round(verdict.elapsed_s, 2)})  # fmt: skip
    for name, challenges in NEGATIVE:
        observations = video_observations(VIDEO / name, analyzer, mirror=False)
        for words in challenges:
            verdict = check_sequence(tuple(ChallengeStep(w) for w in words), observations)
            negatives.append({"video": name, "challenge": ",".join(words), "live": verdict.live,
                              "reason": verdict.reason.value if verdict.reason else None})  # fmt: skip
    return rows, negatives


# ---- attacks: photos rendered as camera frames --------------------------------------------------------------
class Card:
    """A face photo cut around the face, as printed or shown: the image and where its face and landmarks are."""

    def __init__(self, image: np.ndarray, kps: np.ndarray, box: np.ndarray, pose) -> None:
        self.image, self.kps, self.box, self.pose = image, kps, box, pose

    @classmethod
    def from_photo(cls, photo: np.ndarray, detection, face_px: float = 170.0, margin: float = 1.3) -> Card:
        from recognition.domain.head_pose import head_pose

        x1, y1, x2, y2 = detection.box
        w, h = x2 - x1, y2 - y1
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left, top = int(max(0, cx - w * (0.5 + margin))), int(max(0, cy - h * (0.5 + margin)))
        right = int(min(photo.shape[1], cx + w * (0.5 + margin)))
        bottom = int(min(photo.shape[0], cy + h * (0.5 + margin)))
        crop = photo[top:bottom, left:right]
        scale = face_px / max(w, 1.0)
        image = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else
                           cv2.INTER_LINEAR)  # fmt: skip
        kps = (np.asarray(detection.kps) - [left, top]) * scale
        box = (np.asarray(detection.box) - [left, top, left, top]) * scale
        return cls(image, kps, box, head_pose(detection.kps))


def printed_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = image.astype(np.float32) * 0.72 + 45  # ink on paper: lower contrast, lifted blacks
    h, w = image.shape[:2]
    fibres = cv2.resize(rng.normal(0, 10, (h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h))
    out += fibres[..., None] + rng.normal(0, 5, out.shape).astype(np.float32)
    out *= np.array([0.95, 1.0, 1.05], np.float32)  # a warm paper tint (BGR)
    return cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (3, 3), 0)


def screen_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = 255.0 * (image.astype(np.float32) / 255.0) ** 0.8  # display gamma
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    moire = 14 * np.sin(2 * math.pi * (xx * math.cos(angle) + yy * math.sin(angle)) / rng.uniform(3.0, 5.0))
    gx, gy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.1, 0.5) * h
    glare = 110 * np.exp(-(((xx - gx) / (0.25 * w)) ** 2 + ((yy - gy) / (0.18 * h)) ** 2))
    out += (moire + glare)[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def background(rng: np.random.Generator) -> np.ndarray:
    w, h = FRAME
    wall = cv2.resize(rng.normal(128, 18, (h // 16, w // 16)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(np.repeat(wall[..., None], 3, axis=2) * [1.0, 0.97, 0.92], 0, 255).astype(np.uint8)


def projection(card_size, yaw_deg: float, pitch_deg: float, roll_deg: float, scale: float, centre,
               focal: float = 700.0) -> np.ndarray:  # fmt: skip
    """The homography putting a flat card (w, h) in front of a pinhole camera: rotated in 3D about its centre,
    its centre at `centre` (frame pixels), `scale` times its size at the reference distance."""
    w, h = card_size
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]], float)
    return _project_points(corners, np.float32([[0, 0], [w, 0], [w, h], [0, h]]), yaw_deg, pitch_deg, roll_deg,
                           scale, centre, focal)  # fmt: skip


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    a, b, c = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _project_points(points3d, source2d, yaw_deg, pitch_deg, roll_deg, scale, centre, focal) -> np.ndarray:
    moved = points3d @ _rotation(yaw_deg, pitch_deg, roll_deg).T
    z = moved[:, 2] + focal / scale
    image = np.stack([focal * moved[:, 0] / z + centre[0], focal * moved[:, 1] / z + centre[1]], axis=1)
    return cv2.getPerspectiveTransform(np.float32(source2d), np.float32(image))


def render(base: np.ndarray, card: np.ndarray, homographies, masks=None) -> np.ndarray:
    """The card warped onto the background by each homography (with each piece's cut-out); only the
    destination rectangle each piece covers is warped (a full-frame warp per strip is slow)."""
    frame = base.copy()
    w, h = FRAME
    ch, cw = card.shape[:2]
    corners = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]]).reshape(-1, 1, 2)
    for index, matrix in enumerate(homographies):
        source = card if masks is None else masks[index][0]
        alpha = np.full(card.shape[:2], 255, np.uint8) if masks is None else masks[index][1]
        if masks is not None:  # the strip's own columns
            columns = np.flatnonzero(alpha[0])
            x0, x1 = int(columns[0]), int(columns[-1]) + 1
            corners = np.float32([[x0, 0], [x1, 0], [x1, ch], [x0, ch]]).reshape(-1, 1, 2)
        points = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
        left, top = (int(max(0, math.floor(v))) for v in points.min(axis=0))
        right, bottom = int(min(w, math.ceil(points[:, 0].max()) + 1)), int(min(h, math.ceil(points[:, 1].max()) + 1))
        if right <= left or bottom <= top:
            continue
        shifted = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]], float) @ matrix
        size = (right - left, bottom - top)
        warped = cv2.warpPerspective(source, shifted, size, flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(alpha, shifted, size, flags=cv2.INTER_NEAREST) > 0
        frame[top:bottom, left:right][mask] = warped[mask]
    return frame


def bent_homographies(card: np.ndarray, yaw, pitch, roll, scale, centre, strips: int = 14, span_deg: float = 80.0):
    """A card bent like part of a cylinder about its vertical midline (the middle nearest the camera), as flat
    strips: each strip's own homography and its cut-out."""
    h, w = card.shape[:2]
    radius = w / math.radians(span_deg)
    pieces, matrices = [], []
    edges = np.linspace(0, w, strips + 1)
    for x0, x1 in zip(edges[:-1], edges[1:], strict=True):
        points = []
        for x in (x0, x1):
            phi = (x - w / 2) / radius
            points.append([radius * math.sin(phi), radius * (1 - math.cos(phi))])  # sides bend away (+z)
        (ax, az), (bx, bz) = points
        corners = np.array([[ax, -h / 2, az], [bx, -h / 2, bz], [bx, h / 2, bz], [ax, h / 2, az]], float)
        source = np.float32([[x0, 0], [x1, 0], [x1, h], [x0, h]])
        matrices.append(_project_points(corners, source, yaw, pitch, roll, scale, centre, 700.0))
        alpha = np.zeros((h, w), np.uint8)
        alpha[:, int(x0):int(math.ceil(x1))] = 255
        pieces.append((card, alpha))
    return matrices, pieces


def challenge_schedule(steps, rng: random.Random, *, amplitude: float = 35.0):
    """(t, yaw, pitch) of a hand that tilts a card along the challenge: 1 s still, then per step 0.7 s toward
    it, 0.5 s held, 0.7 s back."""
    points = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)]
    t = 1.0
    for step in steps:
        sign = step.sign * amplitude * rng.uniform(0.8, 1.1)
        target = (sign, 0.0) if step.axis == "yaw" else (0.0, sign)
        for dt, pose in ((0.7, target), (0.5, target), (0.7, (0.0, 0.0))):
            t += dt
            points.append((t, *pose))
    return points


def interpolate(schedule, t: float) -> tuple[float, float]:
    for (t0, y0, p0), (t1, y1, p1) in zip(schedule[:-1], schedule[1:], strict=True):
        if t0 <= t <= t1:
            f = 0.5 - 0.5 * math.cos(math.pi * (t - t0) / max(t1 - t0, 1e-9))  # smooth like a hand
            return y0 + f * (y1 - y0), p0 + f * (p1 - p0)
    return schedule[-1][1], schedule[-1][2]


class Hand:
    """Slow random wobble of a hand-held card: position, roll, small tilts, distance."""

    def __init__(self, rng: np.random.Generator, still: bool = False) -> None:
        self.rng, self.still = rng, still
        self.phase = rng.uniform(0, 2 * math.pi, 6)

    def __call__(self, t: float) -> dict:
        if self.still:
            return {"dx": 0.0, "dy": 0.0, "roll": 0.0, "yaw": 0.0, "pitch": 0.0, "scale": 1.0}
        s = [math.sin(1.3 * t + p) for p in self.phase]
        return {"dx": 6 * s[0], "dy": 5 * s[1], "roll": 1.5 * s[2], "yaw": 2 * s[3], "pitch": 2 * s[4],
                "scale": 1.0 + 0.04 * s[5]}  # fmt: skip


def noisy(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(frame.astype(np.int16) + rng.normal(0, 3, frame.shape).astype(np.int16), 0, 255).astype(np.uint8)


def tilt_frames(card: Card, steps, look: str, flip: int, bent: bool, seed: int, amplitude: float = 35.0):
    """Frames of one card tilted (or bent and turned) along the challenge: (t, frame) at ATTACK_FPS."""
    rng, prng = np.random.default_rng(seed), random.Random(seed)
    base = background(rng)
    looks = {"plain": lambda: card.image, "printed": lambda: printed_look(card.image, rng),
             "screen": lambda: screen_look(card.image, rng)}  # fmt: skip
    image = looks[look]()
    schedule = challenge_schedule(steps, prng, amplitude=amplitude)
    hand = Hand(rng)
    centre = np.array([FRAME[0] / 2, FRAME[1] / 2])
    duration = schedule[-1][0] + 0.5
    zoom = prng.uniform(0.85, 1.2)  # the card also comes closer or goes farther during the challenge
    for k in range(int(duration * ATTACK_FPS)):
        t = k / ATTACK_FPS
        yaw, pitch = interpolate(schedule, t)
        wobble = hand(t)
        scale = wobble["scale"] * (1 + (zoom - 1) * min(1.0, t / duration * 2))
        args = (flip * yaw + wobble["yaw"], flip * pitch + wobble["pitch"], wobble["roll"], scale,
                centre + [wobble["dx"], wobble["dy"]])  # fmt: skip
        if bent:
            matrices, pieces = bent_homographies(image, *args)
            frame = render(base, image, matrices, pieces)
        else:
            frame = render(base, image, [projection(image.shape[1::-1], *args)])
        yield t, noisy(frame, rng)


def still_frames(card: Card, seed: int, seconds: float = 5.0):
    rng = np.random.default_rng(seed)
    frame = render(background(rng), card.image, [projection(card.image.shape[1::-1], 0, 0, 0, 1.0, (320, 240))])
    for k in range(int(seconds * ATTACK_FPS)):
        yield k / ATTACK_FPS, noisy(frame, rng)


def slideshow_cards(cards: list[Card], steps) -> list[Card] | None:
    """The most frontal card, then for each step the card turned most that way from it."""
    if len(cards) < 2:
        return None
    first = min(cards, key=lambda c: abs(c.pose.yaw) + abs(c.pose.pitch))
    chosen = [first]
    for step in steps:
        def toward(c: Card, step=step) -> float:
            value = c.pose.yaw - first.pose.yaw if step.axis == "yaw" else c.pose.pitch - first.pose.pitch
            return step.sign * value

        chosen.append(max((c for c in cards if c is not first), key=toward))
    return chosen


def slideshow_frames(cards: list[Card], aligned: bool, seed: int, hold_s: float = 0.8):
    rng = np.random.default_rng(seed)
    base = background(rng)
    hand = Hand(rng)
    order = [cards[0]]
    for card in cards[1:]:
        order += [card, cards[0]]  # each step's photo, then back to the frontal one
    anchor = _face_anchor(cards[0])
    t = 0.0
    for index, card in enumerate(order):
        hold = 1.0 if index == 0 else hold_s
        if aligned:  # the eye midpoint and the eye-mouth distance where the first photo had them
            own = _face_anchor(card)
            scale = anchor[1] / max(own[1], 1e-6)
        else:
            own, scale = (np.array(card.image.shape[1::-1]) / 2, 1.0), rng.uniform(0.8, 1.25)
        for _ in range(int(hold * ATTACK_FPS)):
            wobble = hand(t)
            offset = (np.array([FRAME[0] / 2, FRAME[1] / 2]) - (own[0] - np.array(card.image.shape[1::-1]) / 2) * scale
                      if aligned else np.array([FRAME[0] / 2, FRAME[1] / 2]))  # fmt: skip
            matrix = projection(card.image.shape[1::-1], wobble["yaw"], wobble["pitch"], wobble["roll"],
                                scale * wobble["scale"], offset + [wobble["dx"], wobble["dy"]])  # fmt: skip
            yield t, noisy(render(base, card.image, [matrix]), rng)
            t += 1 / ATTACK_FPS


def _face_anchor(card: Card) -> tuple[np.ndarray, float]:
    eyes = (card.kps[0] + card.kps[1]) / 2
    mouth = (card.kps[3] + card.kps[4]) / 2
    return eyes, float(np.hypot(*(mouth - eyes)))


ATTACK_KINDS = [f"tilt{sign}/{look}" for sign in "+-" for look in ("plain", "printed", "screen")] + [
    "steep+/plain", "steep-/plain", "bent+/plain", "bent-/plain", "still", "slideshow/raw",
    "slideshow/aligned"]  # fmt: skip


def attack_clip(kind: str, cards: list[Card], steps, seed: int):
    """The (t, frame) pairs of one attack of `kind` along `steps`; empty when the identity has too few photos."""
    frontal = min(cards, key=lambda c: abs(c.pose.yaw) + abs(c.pose.pitch))
    family, _, variant = kind.partition("/")
    if family in ("tilt+", "tilt-", "steep+", "steep-", "bent+", "bent-"):
        amplitude = 55.0 if family.startswith("steep") else 35.0
        return tilt_frames(frontal, steps, variant, 1 if family.endswith("+") else -1, family.startswith("bent"), seed,
                           amplitude)  # fmt: skip
    if family == "still":
        return still_frames(frontal, seed)
    chosen = slideshow_cards(cards, steps)
    return slideshow_frames(chosen, variant == "aligned", seed) if chosen else iter(())


def identity_cards(folder: Path, analyzer) -> list[Card]:
    cards = []
    for path in sorted(folder.glob("*.jpg")):
        photo = cv2.imread(str(path))
        if photo is None:
            continue
        detections = analyzer.detect(photo)
        if detections:
            cards.append(Card.from_photo(photo, max(detections, key=lambda d: d.area)))
    return cards


def run_attacks(analyzer, video_analyzer, identities: int, seed: int, save: Path | None = None) -> list[dict]:
    from recognition.domain.liveness import random_challenge
    from recognition.liveness import check_frames

    rows = []
    folders = sorted(p for p in IDENTITIES.iterdir() if p.is_dir())[: identities or None]
    for number, folder in enumerate(folders):
        cards = identity_cards(folder, analyzer)
        if not cards:
            continue
        rng = random.Random(seed + number)
        for index, kind in enumerate(ATTACK_KINDS):
            steps = random_challenge(2, rng)
            started = time.perf_counter()
            seen: list = []

            def frames(clip=attack_clip(kind, cards, steps, seed * 1000 + number * 50 + index), seen=seen,
                       keep=save is not None and number == 0):  # fmt: skip
                for item in clip:  # rendered lazily: the checker stops reading at its decision
                    seen.append(item[1] if keep else None)
                    yield item

            verdict = check_frames(frames(), steps, analyzer=video_analyzer)
            if not seen:
                continue
            if save is not None and number == 0:
                save.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(save / f"{kind.replace('/', '_')}.jpg"), seen[len(seen) // 2])
            rows.append({"identity": folder.name, "kind": kind, "challenge": ",".join(s.value for s in steps),
                         "accepted": verdict.live, "reason": verdict.reason.value if verdict.reason else None,
                         "frames": len(seen), "ms": round(1000 * (time.perf_counter() - started))})  # fmt: skip
    return rows


# ---- report ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench liveness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--json", type=Path)
    parser.add_argument("--identities", type=int, default=0, help="only the first N identity folders (0: all)")
    parser.add_argument("--rates", default="1,2,3", help="genuine videos at every k-th frame, for each k")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--save-frames", type=Path, help="write the first frames of each attack kind here")
    args = parser.parse_args(argv)
    from bench.harness import require_file

    for name, *_ in GENUINE + NEGATIVE:
        require_file(VIDEO / name, "head-turn video")
    if not IDENTITIES.is_dir():
        require_file(IDENTITIES / "identities.csv", "identity photos")
    setup_django()
    from django.conf import settings

    from recognition.inference import face_analyzer

    # A missing model file raises ModelMissing here (python -m bench turns it into the model store's message);
    # the store is the settings' one (MODELS_DIR), not the harness's default folder.
    photo_analyzer = face_analyzer(settings.FACE_MODEL_PACK)
    video_analyzer = face_analyzer(settings.FACE_MODEL_PACK, video=True)
    load = LoadMonitor()
    load.mark()
    started = time.perf_counter()
    genuine, negatives = run_genuine(video_analyzer, [int(r) for r in args.rates.split(",")])
    load.mark()
    attacks = run_attacks(photo_analyzer, video_analyzer, args.identities, args.seed, args.save_frames)
    load.mark()

    passed = [row for row in genuine if row["live"]]
    accepted = [row for row in attacks if row["accepted"]]
    figures = {
        "setup": {**machine(), "pack": settings.FACE_MODEL_PACK, "attack_fps": ATTACK_FPS,
                  "seconds": round(time.perf_counter() - started, 1), **load.as_dict()},  # fmt: skip
        "liveness": {
            "genuine_pass_rate": round(len(passed) / len(genuine), 4) if genuine else None,
            "attack_accept_rate": round(len(accepted) / len(attacks), 4) if attacks else None,
            "median_seconds": round(statistics.median(r["seconds"] for r in passed), 2) if passed else None,
            "genuine_sequences": len(genuine),
            "genuine_passed": len(passed),
            "genuine_people": 4,
            "attack_sequences": len(attacks),
            "attacks_accepted": len(accepted),
            "attack_identities": len({r["identity"] for r in attacks}),
            "negative_sequences": len(negatives),
            "negatives_accepted": sum(r["live"] for r in negatives),
        },
        "genuine_by_video": _by(genuine, "video", "live"),
        "genuine_by_every": _by(genuine, "every", "live"),
        "genuine_failures": [r for r in genuine if not r["live"]],
        "attacks_by_kind": _by(attacks, "kind", "accepted"),
        "attack_reasons": dict(Counter(r["reason"] for r in attacks).most_common()),
        "attacks_accepted": accepted,
        "negatives": negatives,
    }
    rows = [{"set": f"genuine {k}", "n": v["n"], "ok": v["yes"]} for k, v in figures["genuine_by_video"].items()]
    rows += [{"set": f"attack {k}", "n": v["n"], "ok": v["yes"]} for k, v in figures["attacks_by_kind"].items()]
    print_table(rows, [("set", "set", ""), ("n", "sequences", ""), ("ok", "live / accepted", "")])
    print()
    live = figures["liveness"]
    print(f"liveness.genuine_pass_rate  {live['genuine_pass_rate']}  "
          f"({live['genuine_passed']}/{live['genuine_sequences']})")
    print(f"liveness.attack_accept_rate {live['attack_accept_rate']}  "
          f"({live['attacks_accepted']}/{live['attack_sequences']}, {live['attack_identities']} identities)")
    print(f"liveness.median_seconds     {live['median_seconds']}")
    print(f"attack refusals: {figures['attack_reasons']}")
    print(f"no-turn video: {live['negatives_accepted']}/{live['negative_sequences']} accepted; load {load.as_dict()}")
    write_json(args.json, figures)
    return 0


def _by(rows: list[dict], key: str, flag: str) -> dict:
    out: dict = {}
    for row in rows:
        entry = out.setdefault(row[key], {"n": 0, "yes": 0, "reasons": Counter()})
        entry["n"] += 1
        entry["yes"] += bool(row[flag])
        entry["reasons"][row["reason"]] += 1
    return {k: {**v, "reasons": dict(v["reasons"])} for k, v in out.items()}


if __name__ == "__main__":
    raise SystemExit(main())
