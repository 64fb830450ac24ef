"""`python manage.py run_cameras`: the camera worker. Start one per machine (or more); they share the enabled
cameras through leases in the database. SIGTERM or Ctrl-C stops it and hands its cameras over at once."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from devices.camera_worker import CameraWorker, WorkerOptions
from devices.conf import device_settings
from recognition import inference


class Command(BaseCommand):
    help = "Read the enabled IP cameras (shared with other camera workers) and record who they see."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker-id", help="this worker's name in the leases (default host:pid)")
        parser.add_argument("--lease", type=float, help="lease seconds (default CAMERA_LEASE_S)")
        parser.add_argument("--max-cameras", type=int, help="cameras this worker reads at most (CAMERA_WORKER_MAX)")
        parser.add_argument("--max-fps", type=float, help="frames processed per camera per second (CAMERA_MAX_FPS)")
        parser.add_argument("--heartbeat", type=Path, help="a file touched every lease round (health checks)")

    def handle(self, *args, worker_id: str | None, lease: float | None, max_cameras: int | None,
               max_fps: float | None, heartbeat: Path | None, **options) -> None:  # fmt: skip
        inference.use_intra_op_threads(device_settings().camera_ort_intra_op_threads)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        worker = CameraWorker(WorkerOptions.from_settings(lease_s=lease, max_cameras=max_cameras, max_fps=max_fps),
                              worker_id=worker_id, heartbeat=heartbeat)  # fmt: skip
        self.stdout.write(f"camera worker {worker.worker_id} started")
        worker.run(stop)
        self.stdout.write(f"camera worker {worker.worker_id} stopped; its cameras are free")
