"""`python manage.py recognize --video FILE [--out annotated.mp4]` or `--camera N`: live recognition from a file
or a local camera through the same LiveStream as the browser page, writing an annotated video."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import cv2
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from recognition.engine.annotate import draw_tracks


class Command(BaseCommand):
    help = "Recognise faces in a video file or from a local camera; optionally write an annotated video."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--video", type=Path, help="a video file")
        source.add_argument("--camera", type=int, help="a local camera index (0 is the first)")
        parser.add_argument("--out", type=Path, help="write the annotated video here (.mp4 or .avi)")
        parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
        parser.add_argument("--no-emotion", action="store_true", help="do not draw emotions")

    def handle(self, *args, video: Path | None, camera: int | None, out: Path | None, max_frames: int,
               no_emotion: bool, **options) -> None:  # fmt: skip
        from recognition.live import LiveStream

        if video is not None and not video.is_file():
            raise CommandError(f"no such video file: {video}")
        capture = cv2.VideoCapture(str(video) if video is not None else camera)
        if not capture.isOpened():
            raise CommandError(f"cannot open {'video ' + str(video) if video else f'camera {camera}'}")
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if video is not None else 0
        if max_frames:
            total = min(total, max_frames) if total else max_frames
        stream = LiveStream(source="camera", stream_id=f"cli-{uuid.uuid4().hex[:8]}")
        writer = None
        frames = 0
        started = time.perf_counter()
        progress = tqdm(total=total or None, unit="frame", disable=total == 0 and camera is None)
        try:
            while not max_frames or frames < max_frames:
                ok, frame = capture.read()
                if not ok:
                    break
                tracks = stream.process(frame)
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
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{frames} frames in {elapsed:.1f} s ({frames / max(elapsed, 1e-9):.1f} fps)")
        if stream.seen:
            self.stdout.write("recognised: " + ", ".join(sorted(stream.seen.values())))
        else:
            self.stdout.write("recognised: nobody enrolled")
        if out is not None and writer is not None:
            self.stdout.write(f"annotated video: {out}")


def _open_writer(path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise CommandError(f"cannot write video {path} (try a .avi file)")
    return writer
