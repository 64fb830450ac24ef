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


@pytest.mark.django_db(transaction=True)
def test_a_reader_whose_lease_is_not_renewed_stops_before_it_can_lapse(faces_data) -> None:
    """A stalled worker (alive, but its renewals not getting through) must stop processing by its own clock,
    before another worker may claim the camera."""
    from devices.models import Device, Kind, Location
    from tests.devices.conftest import HAMILTON_CLIP

    cam = Device.objects.create(name="File cam", location=Location.objects.create(name="Lab"), kind=Kind.CAMERA,
                                stream_url=str(faces_data / HAMILTON_CLIP))  # fmt: skip
    options = WorkerOptions(lease_s=3.0, max_cameras=1, max_fps=10, reconnect_max_s=1, read_timeout_s=5)
    reader = camera_worker.CameraReader(cam, options, "stalled")
    reader.renewed(time.monotonic())  # the one renewal it gets: held until now + 0.8 x 3 s
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive()
    assert reader.processed > 0  # it did read until then
    assert reader.stopped_at <= reader.held_until + 0.5  # at most the frame in hand finished after the deadline
