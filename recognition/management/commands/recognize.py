"""`python manage.py recognize --video FILE [--out annotated.mp4] [--jsonl seen.jsonl] [--attendance SOURCE]` or
`--camera N`: live recognition from a file or a local camera through the same LiveStream as the browser page.

It tells what it saw (an annotated video, one JSON line per frame, a closing list of everyone recognised with
the first and last time seen) and records attendance only when asked to, at the source named.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import cv2
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from recognition.engine.annotate import draw_tracks
from recognition.engine.live import TrackResult
from recognition.signals import check_presence_source


@dataclass
class Sighting:
    """One person recognised during the run: when their name was first and last on a face."""

    name: str
    first_s: float
    last_s: float


class Command(BaseCommand):
    help = "Recognise faces in a video file or from a local camera; optionally write an annotated video."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--video", type=Path, help="a video file")
        source.add_argument("--camera", type=int, help="a local camera index (0 is the first)")
        parser.add_argument("--out", type=Path, help="write the annotated video here (.mp4 or .avi)")
        parser.add_argument("--jsonl", type=Path,
                            help="write one JSON line per frame here: frame, and per face track_id, box, name, "
                                 "person_id, score, emotion")  # fmt: skip
        parser.add_argument("--attendance", metavar="SOURCE",
                            help="record attendance of the people recognised, at this source (camera, "
                                 "kiosk, page, api, exit or an ATTENDANCE_EXIT_SOURCES word); without it nothing "
                                 "is recorded")  # fmt: skip
        parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
        parser.add_argument("--no-emotion", action="store_true", help="do not draw emotions")

    def handle(self, *args, video: Path | None, camera: int | None, out: Path | None, jsonl: Path | None,
               attendance: str | None, max_frames: int, no_emotion: bool, **options) -> None:  # fmt: skip
        from recognition.live.streams import LiveStream

        if video is not None and not video.is_file():
            raise CommandError(f"no such video file: {video}")
        if attendance is not None:
            try:
                check_presence_source(attendance)
            except ValueError as exc:
                raise CommandError(f"--attendance: {exc}") from None
        capture = cv2.VideoCapture(str(video) if video is not None else camera)
        if not capture.isOpened():
            raise CommandError(f"cannot open {'video ' + str(video) if video else f'camera {camera}'}")
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if video is not None else 0
        if max_frames:
            total = min(total, max_frames) if total else max_frames
        stream = LiveStream(source=attendance, stream_id=f"cli-{uuid.uuid4().hex[:8]}")
        lines = _open_jsonl(jsonl) if jsonl is not None else None
        writer = None
        frames = 0
        seen: dict[int, Sighting] = {}
        started = time.perf_counter()
        progress = tqdm(total=total or None, unit="frame", disable=total == 0 and camera is None)
        try:
            while not max_frames or frames < max_frames:
                ok, frame = capture.read()
                if not ok:
                    break
                tracks = stream.process(frame)
                # a file's own clock (frames / fps); a camera's is the wall clock since the start
                at = frames / fps if video is not None else time.perf_counter() - started
                _note_sightings(seen, tracks, at)
                if lines is not None:
                    lines.write(json.dumps(frame_record(frames, tracks)) + "\n")
                frames += 1
                progress.update(1)
                if out is not None:
                    if writer is None:
                        writer = _open_writer(out, fps, frame.shape[1], frame.shape[0])
                    writer.write(draw_tracks(frame, tracks, emotion=not no_emotion))
        except KeyboardInterrupt:
            pass
        finally:
            progress.close()
            capture.release()
            if writer is not None:
                writer.release()
            if lines is not None:
                lines.close()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{frames} frames in {elapsed:.1f} s ({frames / max(elapsed, 1e-9):.1f} fps)")
        recognised = {pid: s for pid, s in seen.items() if pid in stream.seen}  # confirmed by two recognitions
        if recognised:
            self.stdout.write("recognised (first seen - last seen):")
            for sighting in sorted(recognised.values(), key=lambda s: (s.first_s, s.name)):
                self.stdout.write(f"  {sighting.name}: {_clock(sighting.first_s)} - {_clock(sighting.last_s)}")
        else:
            self.stdout.write("recognised: nobody enrolled")
        if attendance is None:
            self.stdout.write("attendance: not recorded (pass --attendance SOURCE to record it)")
        else:
            self.stdout.write(f"attendance: recorded at source {attendance!r} for {len(recognised)} people")
        if jsonl is not None:
            self.stdout.write(f"per-frame results: {jsonl}")
        if out is not None and writer is not None:
            self.stdout.write(f"annotated video: {out}")


def frame_record(index: int, tracks: list[TrackResult]) -> dict:
    """One frame of the --jsonl output."""
    return {
        "frame": index,
        "faces": [
            {"track_id": t.track_id, "box": [round(v, 1) for v in t.box], "name": t.name,
             "person_id": t.person_id, "score": round(t.score, 3), "emotion": t.emotion}  # fmt: skip
            for t in tracks
        ],
    }


def _note_sightings(seen: dict[int, Sighting], tracks: list[TrackResult], at: float) -> None:
    for track in tracks:
        if track.person_id is None:
            continue
        sighting = seen.get(track.person_id)
        if sighting is None:
            seen[track.person_id] = Sighting(track.name, at, at)
        else:
            sighting.last_s = at


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def _open_jsonl(path: Path) -> TextIO:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None


def _open_writer(path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise CommandError(f"cannot write video {path} (try a .avi file)")
    return writer
