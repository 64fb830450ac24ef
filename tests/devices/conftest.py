"""The live fixtures (real frames, the Hamilton cast embedded from their photos) for the devices tests."""

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.live.conftest import hamilton_cast, hamilton_frames, live_analyzer  # noqa: F401
from tests.support.services import REPO, free_port, service_env, stop_process, test_database_url, wait_for_port  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"  # python3-gi is Debian's, built for this interpreter (not the venv's)
HAMILTON_CLIP = "video/facerec_short_hamilton_clip.mp4"


class RtspServer:
    """tests/devices/rtsp_server.py as a subprocess on a fixed loopback port, so it can be killed and brought
    back at the same address; `log()` is its open/close lines per client."""

    def __init__(self, mounts: dict[str, Path], log_path: Path) -> None:
        self.port = free_port()
        self.mounts = mounts
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def start(self) -> None:
        args = [f"{name}={path}" for name, path in self.mounts.items()]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [SYSTEM_PYTHON, str(REPO / "tests/devices/rtsp_server.py"), "--port", str(self.port),
                 *[a for arg in args for a in ("--mount", arg)]],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for_port(self.port, self.process, timeout=20)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def log(self) -> list[str]:
        return self.log_path.read_text().splitlines()


@pytest.fixture
def rtsp_server(faces_data: Path, tmp_path: Path) -> Iterator[RtspServer]:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(
            "gst-rtsp-server is not installed (make test installs it: apt-get install "
            "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)"
        )
    clip = faces_data / HAMILTON_CLIP
    server = RtspServer({"cam1": clip, "cam2": clip}, tmp_path / "rtsp.log")
    server.start()
    yield server
    if server.process.poll() is None:
        stop_process(server.process)


class WorkerProcesses:
    """`manage.py run_cameras` subprocesses against the test database, short leases."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, worker_id: str, *, lease_s: float = 3.0, max_cameras: int = 2, max_fps: float = 8.0,
              **env: str) -> subprocess.Popen:  # fmt: skip
        log = (self.tmp_path / f"worker-{worker_id}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_cameras", "--worker-id", worker_id, "--lease", str(lease_s),
             "--max-cameras", str(max_cameras), "--max-fps", str(max_fps),
             "--heartbeat", str(self.tmp_path / f"worker-{worker_id}.alive")],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            env=service_env(DATABASE_URL=test_database_url(), CAMERA_READ_TIMEOUT_S="4",
                            CAMERA_RECONNECT_MAX_S="2", **env),
        )  # fmt: skip
        self.processes[worker_id] = process
        return process

    def log(self, worker_id: str) -> str:
        return (self.tmp_path / f"worker-{worker_id}.log").read_text()[-4000:]

    def stop_all(self) -> None:
        for process in self.processes.values():
            stop_process(process)


@pytest.fixture
def camera_workers(transactional_db, tmp_path: Path) -> Iterator[WorkerProcesses]:
    workers = WorkerProcesses(tmp_path)
    yield workers
    workers.stop_all()


def wait_until(predicate, timeout_s: float, message) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.25)
