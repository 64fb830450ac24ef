"""FrameSource, the camera worker's reader: a file plays at its own rate and loops, an HTTP MJPEG camera (a real
multipart/x-mixed-replace server on the loopback) is read, a stream that cannot be opened says so."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import pytest

from devices.frame_source import FrameSource, StreamLost
from tests.devices.conftest import HAMILTON_CLIP


def test_a_file_plays_at_its_native_rate_and_loops(faces_data, tmp_path) -> None:
    capture = cv2.VideoCapture(str(faces_data / HAMILTON_CLIP))
    clip = tmp_path / "short.avi"  # 15 frames at 30 fps: half a second, then it must start again
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 360))
    for _ in range(15):
        writer.write(capture.read()[1])
    writer.release()
    source = FrameSource(str(clip), open_timeout_s=5, read_timeout_s=5)
    try:
        first = source.latest()
        assert first.image.shape == (360, 640, 3)
        time.sleep(1.5)
        later = source.latest()
        # ~30 frames a second (not as fast as the disk reads), past the clip's end; the frames never taken
        # are counted as dropped
        assert 30 <= later.number - first.number <= 60
        assert source.dropped >= later.number - first.number - 2
    finally:
        source.close()


def test_an_http_mjpeg_camera_is_read(faces_data) -> None:
    capture = cv2.VideoCapture(str(faces_data / HAMILTON_CLIP))
    jpegs = [cv2.imencode(".jpg", capture.read()[1])[1].tobytes() for _ in range(30)]

    class Camera(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                for k in range(300):
                    jpeg = jpegs[k % len(jpegs)]
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                     + f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")  # fmt: skip
                    time.sleep(1 / 15)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = FrameSource(f"http://127.0.0.1:{server.server_port}/video", open_timeout_s=5, read_timeout_s=5)
        try:
            frames = [source.latest() for _ in range(5)]
            assert all(f.image.shape == (360, 640, 3) for f in frames)
            assert [f.number for f in frames] == sorted({f.number for f in frames})
        finally:
            source.close()
    finally:
        server.shutdown()


def test_a_stream_that_cannot_be_opened_is_lost() -> None:
    with pytest.raises(StreamLost):
        FrameSource("/nonexistent/clip.mp4", open_timeout_s=1, read_timeout_s=1)
    from tests.support.services import free_port

    with pytest.raises(StreamLost):
        FrameSource(f"rtsp://127.0.0.1:{free_port()}/nothing", open_timeout_s=2, read_timeout_s=2)
