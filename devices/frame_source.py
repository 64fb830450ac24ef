"""Frames from a camera's stream: RTSP, HTTP(S) MJPEG or a video file, decoded by OpenCV's FFmpeg backend.

A grabber thread decodes continuously and keeps only the newest frame (a live stream must be read at its own
rate or FFmpeg's buffer grows and every answer comes later); the caller takes the newest frame when it is free,
and frames it never took are counted as dropped. A file plays at its native rate and loops, like a camera.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# RTSP over TCP: a server that goes away is noticed at once (over UDP only by a read timeout), and no frame is
# lost to a firewall dropping UDP. An operator's own OPENCV_FFMPEG_CAPTURE_OPTIONS wins.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


class StreamLost(Exception):
    """The stream could not be opened, or stopped giving frames."""


class NoFrameYet(StreamLost):
    """No new frame within the time asked for; the stream itself has reported no error."""


@dataclass
class Frame:
    image: np.ndarray
    captured: float  # time.monotonic() when it was decoded
    number: int


def is_file(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


class FrameSource:
    """One open stream. `latest(timeout)` returns the newest frame not yet taken, or raises StreamLost."""

    def __init__(self, url: str, *, open_timeout_s: float, read_timeout_s: float) -> None:
        self.url = url
        self.file = is_file(url)
        path = url.removeprefix("file://") if self.file else url
        if self.file and not Path(path).is_file():
            raise StreamLost(f"no such video file: {path}")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]  # fmt: skip
        self.capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, params)
        if not self.capture.isOpened():
            self.capture.release()
            raise StreamLost("could not open the stream")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.frame_interval = 1.0 / fps if self.file and 1 <= fps <= 120 else 0.0
        self.read_timeout_s = read_timeout_s
        self.decoded = 0
        self.dropped = 0
        self._frame: Frame | None = None
        self._taken = 0
        self._error: str | None = None
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._grab, name=f"grab {url[:40]}", daemon=True)
        self._thread.start()

    def _grab(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            ok, image = self.capture.read()
            if not ok and self.file:  # a file loops, like a camera that never stops
                self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, image = self.capture.read()
            if not ok:
                with self._ready:
                    self._error = "the stream stopped giving frames"
                    self._ready.notify_all()
                return
            if self.frame_interval:
                next_at += self.frame_interval
                time.sleep(max(0.0, next_at - time.monotonic()))
            with self._ready:
                self.decoded += 1
                if self._frame is not None and self._frame.number > self._taken:
                    self.dropped += 1
                self._frame = Frame(image, time.monotonic(), self.decoded)
                self._ready.notify_all()

    def latest(self, timeout_s: float | None = None) -> Frame:
        """The newest frame after the last one taken; waits for it up to the read timeout."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.read_timeout_s)
        with self._ready:
            while self._error is None and (self._frame is None or self._frame.number <= self._taken):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoFrameYet(f"no frame for {self.read_timeout_s:.0f} s")
                self._ready.wait(left)
            if self._frame is not None and self._frame.number > self._taken:
                self._taken = self._frame.number
                return self._frame
            raise StreamLost(self._error or "the stream ended")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.read_timeout_s + 1)
        self.capture.release()
