"""The camera worker (`manage.py run_cameras`): leases enabled cameras in the database, reads each one with a
LiveStream of its own, and records the people it confirms at the camera, through the same service as a kiosk.

Several workers (on one machine or many, against one Postgres) share the cameras: each camera is leased by one
worker at a time (services.claim_cameras: a conditional UPDATE on the database's clock) and the lease is renewed
every third of CAMERA_LEASE_S. A worker that cannot renew in time stops reading by its own clock before the
lease can lapse in the database (it never waits for a frame past that moment), so two workers never process
one camera's frames at once; a dead worker's cameras are claimed by another once its leases lapse. A lost
stream is reopened after 1, 2, 4 ... CAMERA_RECONNECT_MAX_S.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from devices import services
from devices.conf import device_settings
from devices.frame_source import FrameSource, NoFrameYet, StreamLost
from devices.models import Device, Status

log = logging.getLogger("devices.cameras")

STATUS_EVERY_S = 2.0  # how often a reader writes its fps and last frame time
LEASE_MARGIN = 0.8  # stop reading when 80% of the lease has passed without a renewal


@dataclass(frozen=True)
class WorkerOptions:
    lease_s: float
    max_cameras: int
    max_fps: float
    reconnect_max_s: float
    read_timeout_s: float

    @classmethod
    def from_settings(cls, **overrides) -> WorkerOptions:
        conf = device_settings()
        values = {
            "lease_s": conf.camera_lease_s, "max_cameras": conf.camera_worker_max, "max_fps": conf.camera_max_fps,
            "reconnect_max_s": conf.camera_reconnect_max_s, "read_timeout_s": conf.camera_read_timeout_s,
        }  # fmt: skip
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class CameraReader(threading.Thread):
    """Reads one leased camera until told to stop or its lease is no longer known to be held."""

    def __init__(self, device: Device, options: WorkerOptions, worker_id: str) -> None:
        super().__init__(name=f"camera {device.pk}", daemon=True)
        self.device_id, self.device_name = device.pk, device.name
        self.url = services.reader_url(device)
        self.source = device.attendance_source
        self.options = options
        self.stream_id = f"camera-{device.pk}@{worker_id}"
        self.held_until = time.monotonic() + options.lease_s * LEASE_MARGIN
        self.stopping = threading.Event()
        self.latencies_ms: list[float] = []  # frame decoded -> results, the latest few hundred (bench)
        self.processed = 0
        self.stream: FrameSource | None = None  # the open stream, for its decoded and dropped counts
        self.stopped_at: float | None = None  # monotonic time it stopped reading

    def renewed(self, at: float) -> None:
        """The lease was renewed by a request sent at monotonic time `at`."""
        self.held_until = at + self.options.lease_s * LEASE_MARGIN

    def holds_lease(self) -> bool:
        return not self.stopping.is_set() and time.monotonic() < self.held_until

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("camera %s (%s) reader failed", self.device_id, self.device_name)
            services.report_status(self.device_id, Status.ERROR, error="reader failed; see the worker's log")
        finally:
            connection.close()

    def _run(self) -> None:
        from recognition.live.streams import LiveStream

        live = LiveStream(source=self.source, stream_id=self.stream_id, device_id=self.device_id)
        backoff = 1.0
        while self.holds_lease():
            try:
                source = FrameSource(self.url, open_timeout_s=self.options.read_timeout_s,
                                     read_timeout_s=self.options.read_timeout_s)  # fmt: skip
            except StreamLost as exc:
                self._lost(str(exc), backoff)
                backoff = min(backoff * 2, self.options.reconnect_max_s)
                continue
            log.info("camera %s (%s) opened", self.device_id, self.device_name)
            backoff = 1.0  # it opened: the next loss starts the backoff again
            try:
                self._read(source, live)
            except StreamLost as exc:
                self._lost(str(exc), backoff)
            finally:
                source.close()
        self.stopped_at = time.monotonic()
        if not self.stopping.is_set():
            log.warning("camera %s: lease not renewed in time; stopped reading", self.device_id)

    def _read(self, source: FrameSource, live) -> None:
        interval = 1.0 / self.options.max_fps if self.options.max_fps > 0 else 0.0
        window_start, window_frames, reported = time.monotonic(), 0, 0.0
        services.report_status(self.device_id, Status.ONLINE, error="", last_frame_at=timezone.now())
        self.stream = source
        last_frame = time.monotonic()
        while self.holds_lease():
            started = time.monotonic()
            # Wait no longer than the lease is known to be held: a frame is never processed after it may lapse.
            wait = min(self.held_until, last_frame + self.options.read_timeout_s) - started
            try:
                frame = source.latest(max(0.0, wait))
            except NoFrameYet:
                if time.monotonic() - last_frame >= self.options.read_timeout_s:
                    raise StreamLost(f"no frame for {self.options.read_timeout_s:.0f} s") from None
                continue  # the lease deadline came first: the loop checks it (a renewal may have moved it)
            last_frame = time.monotonic()
            if not self.holds_lease():
                return
            close_old_connections()
            live.process(frame.image)
            now = time.monotonic()
            self.processed += 1
            self.latencies_ms.append((now - frame.captured) * 1000)
            del self.latencies_ms[:-500]
            window_frames += 1
            if now - reported >= STATUS_EVERY_S:
                fps = window_frames / max(now - window_start, 1e-6)
                services.report_status(self.device_id, Status.ONLINE, fps=fps, last_frame_at=timezone.now())
                window_start, window_frames, reported = now, 0, now
            if interval:  # paced from the frame's start, so processing time is not added to the interval
                self.stopping.wait(max(0.0, interval - (time.monotonic() - started)))

    def _lost(self, reason: str, wait_s: float) -> None:
        log.warning("camera %s (%s): %s; retrying in %.0f s", self.device_id, self.device_name, reason, wait_s)
        services.report_status(self.device_id, Status.ERROR, error=reason, fps=0.0)
        self.stopping.wait(wait_s)


class CameraWorker:
    """Claims cameras, keeps their leases, and runs one CameraReader per camera held."""

    def __init__(self, options: WorkerOptions, worker_id: str | None = None, heartbeat: Path | None = None) -> None:
        """`heartbeat`: a file touched after every round of leases, for a container's health check."""
        self.options = options
        self.worker_id = worker_id or default_worker_id()
        self.heartbeat = heartbeat
        self.readers: dict[int, CameraReader] = {}

    def run(self, stop: threading.Event) -> None:
        log.info("camera worker %s: up to %d cameras, lease %.0f s", self.worker_id, self.options.max_cameras,
                 self.options.lease_s)  # fmt: skip
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except DatabaseError:  # the database away for a while: readers stop by their own clock
                    log.exception("camera worker %s: could not renew or claim leases; retrying", self.worker_id)
                    connection.close()
                else:
                    if self.heartbeat is not None:
                        self.heartbeat.touch()
                stop.wait(self.options.lease_s / 3)
        finally:
            self.shutdown()

    def tick(self) -> None:
        """Renew what is held, stop what is not, start readers for newly claimed cameras."""
        close_old_connections()
        self.readers = {pk: r for pk, r in self.readers.items() if r.is_alive()}
        sent = time.monotonic()
        kept = services.renew_leases(self.worker_id, list(self.readers), lease_s=self.options.lease_s)
        for pk, reader in list(self.readers.items()):
            if pk in kept:
                reader.renewed(sent)
            else:
                log.info("camera %s: lease lost (disabled, or taken over); stopping", pk)
                reader.stopping.set()
                del self.readers[pk]
                if Device.objects.filter(pk=pk, enabled=False).exists():  # taken over: the new reader reports
                    services.report_status(pk, Status.OFFLINE, fps=0.0)
        sent = time.monotonic()
        for device in services.claim_cameras(self.worker_id, lease_s=self.options.lease_s,
                                             limit=self.options.max_cameras):  # fmt: skip
            current = self.readers.get(device.pk)
            if current is not None and (current.url, current.source) != (
                services.reader_url(device),
                device.attendance_source,
            ):
                log.info("camera %s: stream URL or direction changed; reopening", device.pk)
                current.stopping.set()  # the next round starts a reader with the new settings
                del self.readers[device.pk]
            elif current is None:
                reader = CameraReader(device, self.options, self.worker_id)
                reader.renewed(sent)
                self.readers[device.pk] = reader
                reader.start()
                log.info("camera %s (%s): leased by %s", device.pk, device.name, self.worker_id)

    def shutdown(self) -> None:
        """Stop every reader and hand the cameras back at once."""
        for reader in self.readers.values():
            reader.stopping.set()
        for reader in self.readers.values():
            reader.join(timeout=self.options.read_timeout_s + 2)
        held = list(self.readers)
        for pk in held:
            services.report_status(pk, Status.OFFLINE, fps=0.0)
        services.release_leases(self.worker_id, held)
        self.readers.clear()
        connection.close()
