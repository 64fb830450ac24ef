"""The camera worker's own loop, without streams: a database that goes away for a while does not end it."""

import threading
import time

import pytest
from django.db import OperationalError

from devices import camera_worker
from devices.camera_worker import CameraWorker, WorkerOptions


@pytest.mark.django_db(transaction=True)
def test_a_database_error_is_survived_and_the_heartbeat_resumes(tmp_path, monkeypatch) -> None:
    calls = []
    real_claim = camera_worker.services.claim_cameras

    def flaky_claim(*args, **kwargs):
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(camera_worker.services, "claim_cameras", flaky_claim)
    heartbeat = tmp_path / "alive"
    options = WorkerOptions(lease_s=0.3, max_cameras=2, max_fps=5, reconnect_max_s=1, read_timeout_s=1)
    worker = CameraWorker(options, worker_id="flaky", heartbeat=heartbeat)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while not heartbeat.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    assert len(calls) >= 3 and heartbeat.exists()  # it kept going after two failed rounds
