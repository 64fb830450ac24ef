"""A real RTSP server for the camera tests (GStreamer's gst-rtsp-server), serving video files on the loopback.

Run with Debian's /usr/bin/python3 (python3-gi is built for it, not for the venv):
    /usr/bin/python3 tests/devices/rtsp_server.py --port 8554 --mount cam=clip.mp4 [--mount door=other.mp4]
Each mount plays its H.264 MP4 at its native rate, LOOPS copies back to back (so a short clip is a long
stream), each client its own media. The copies are joined once, into a file, before the server listens: a
`concat` inside each client's live pipeline stalled some clients at a join (no frame for 10 s), which a camera
worker rightly reports as a lost stream. One line per client on stdout, for tests that check who reads a camera:
    open <mount> / close <mount>
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LOOPS = 8  # ~74 s of the Hamilton clip per client: every test and bench level is shorter; more slows setup


def joined_copies(path: str, folder: Path) -> Path:
    """LOOPS copies of the clip in one MP4 (no re-encoding): concat shifts each copy's timestamps after the last."""
    out = folder / f"{len(list(folder.iterdir()))}-{Path(path).name}"
    copies = " ".join(f"filesrc location={path} ! qtdemux ! h264parse ! c." for _ in range(LOOPS))
    pipeline = Gst.parse_launch(f"concat name=c ! h264parse ! mp4mux ! filesink location={out} {copies}")
    pipeline.set_state(Gst.State.PLAYING)
    done = pipeline.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if done is None or done.type != Gst.MessageType.EOS:
        sys.exit(f"cannot join copies of {path}: {done.parse_error() if done else 'timeout'}")
    return out


def launch_line(path: Path) -> str:
    return f"( filesrc location={path} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", action="append", required=True, help="NAME=FILE.mp4")
    args = parser.parse_args()
    Gst.init(None)
    folder = Path(tempfile.mkdtemp(prefix="facesite-rtsp-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    joined: dict[str, Path] = {}
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    for spec in args.mount:
        name, path = spec.split("=", 1)
        factory = GstRtspServer.RTSPMediaFactory()
        if path not in joined:
            joined[path] = joined_copies(path, folder)
        factory.set_launch(launch_line(joined[path]))
        factory.set_shared(False)

        def configured(factory, media, name=name):
            print(f"open {name}", flush=True)
            media.connect("unprepared", lambda media: print(f"close {name}", flush=True))

        factory.connect("media-configure", configured)
        server.get_mount_points().add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.port}")
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print(f"listening rtsp://127.0.0.1:{args.port}/", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
