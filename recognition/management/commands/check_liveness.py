"""`python manage.py check_liveness VIDEO --challenge turn_left,turn_right[,look_up,...]`: the liveness checker
of sign-up and the webcam capture, run on a video file (or an animated GIF) with the product's detector.

Prints one JSON object (`live`, `reason`, per-step timing) and exits 0 when live, 1 when not, 2 on bad input
(a missing or undecodable file, an unknown or repeated challenge word). Directions are in image terms of the
file's frames: turn_left means the nose moves toward the image's left (see recognition/domain/liveness.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.domain.liveness import parse_challenge


class Command(BaseCommand):
    help = "Check a video of a head doing a liveness challenge; JSON out; exit 0 live, 1 not live, 2 bad input."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("video", type=Path, help="a video file or an animated GIF")
        parser.add_argument(
            "--challenge", required=True, help="steps in order, comma-separated: turn_left,turn_right,look_up,look_down"
        )
        parser.add_argument("--timeout", type=float, help="seconds for the whole challenge (LIVENESS_TIMEOUT_S)")

    def handle(self, *args, video: Path, challenge: str, timeout: float | None, **options) -> None:
        from dataclasses import replace

        from recognition import liveness

        try:
            steps = parse_challenge(challenge)
        except ValueError as exc:
            raise CommandError(f"--challenge: {exc}", returncode=2) from None
        if len(set(steps)) != len(steps):
            raise CommandError("--challenge: each step may appear once", returncode=2)
        if not video.is_file():
            raise CommandError(f"no such video file: {video}", returncode=2)
        frames = _frames(video)
        first = next(frames, None)
        if first is None:
            raise CommandError(f"cannot decode any frame of {video} (not a video or GIF OpenCV or Pillow reads)",
                               returncode=2)  # fmt: skip
        policy = liveness.policy()
        if timeout is not None:
            if timeout <= 0:
                raise CommandError("--timeout must be positive", returncode=2)
            policy = replace(policy, timeout_s=timeout)
        verdict = liveness.check_frames(_chain(first, frames), steps, policy_=policy)
        report = {"video": str(video), "challenge": [s.value for s in steps], **verdict.as_dict()}
        self.stdout.write(json.dumps(report))
        if not verdict.live:
            sys.exit(1)


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds, BGR frame) pairs: OpenCV's decoders (video files; GIF in OpenCV 5), else Pillow for GIFs."""
    capture = cv2.VideoCapture(str(path))
    opened = capture.isOpened()
    fps = capture.get(cv2.CAP_PROP_FPS) if opened else 0.0
    fps = fps if fps and 0 < fps < 1000 else 25.0
    index = 0
    try:
        while opened:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            yield index / fps, frame
            index += 1
    finally:
        capture.release()
    if index == 0:
        yield from _pillow_frames(path)


def _pillow_frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(path)
    except (OSError, UnidentifiedImageError):
        return
    with image:
        if getattr(image, "n_frames", 1) < 2:  # a still image is not a video
            return
        t = 0.0
        for frame in ImageSequence.Iterator(image):
            yield t, cv2.cvtColor(np.asarray(frame.convert("RGB")), cv2.COLOR_RGB2BGR)
            t += max(int(frame.info.get("duration", 80)), 10) / 1000
