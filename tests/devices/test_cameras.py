"""IP cameras over a real RTSP server (gst-rtsp-server on the loopback, the Hamilton clip looped), read by real
`manage.py run_cameras` processes against the test database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceEvent
from devices.models import Device, Kind, Location, Status
from tests.devices.conftest import wait_until
from tests.live.test_live_socket import enroll_cast

pytestmark = pytest.mark.services


def camera(name: str, url: str, location: Location) -> Device:
    return Device.objects.create(name=name, location=location, kind=Kind.CAMERA, stream_url=url)


def fresh(device: Device) -> Device:
    device.refresh_from_db()
    return device


def test_a_person_in_the_stream_is_checked_in_at_the_cameras_place_and_a_server_restart_resumes(
    rtsp_server, camera_workers, hamilton_cast
) -> None:
    ids = enroll_cast(hamilton_cast)
    stage = Location.objects.create(name="Stage door")
    cam = camera("Stage cam", rtsp_server.url("cam1"), stage)
    worker = camera_workers.start("w1", ATTENDANCE_COOLDOWN_S="1")
    performer = AttendanceEvent.objects.filter(person_id=ids["lin_manuel_miranda"])
    wait_until(performer.exists, 50, lambda: camera_workers.log("w1"))
    event = performer.get()
    assert (event.device_id, event.device.location, event.source, event.kind) == (cam.pk, stage, "camera",
                                                                                   "check_in")  # fmt: skip
    assert fresh(cam).status == Status.ONLINE and cam.fps > 0 and cam.lease_owner == "w1"

    rtsp_server.kill()  # mid-stream
    wait_until(lambda: fresh(cam).status == Status.ERROR, 15, "the lost stream was not reported")
    assert cam.last_error
    rtsp_server.start()
    back = timezone.now()
    wait_until(lambda: performer.filter(at__gt=back).exists(), 40, lambda: camera_workers.log("w1"))
    assert fresh(cam).status == Status.ONLINE and cam.last_frame_at > back - timedelta(seconds=1)
    assert worker.poll() is None


def test_two_workers_share_cameras_and_never_read_one_at_once(rtsp_server, camera_workers) -> None:
    hall = Location.objects.create(name="Hall")
    cams = [camera("Left", rtsp_server.url("cam1"), hall), camera("Right", rtsp_server.url("cam2"), hall)]
    first = camera_workers.start("a", max_cameras=1, max_fps=4)
    camera_workers.start("b", max_cameras=1, max_fps=4)
    wait_until(lambda: all(fresh(c).status == Status.ONLINE for c in cams), 40,
               lambda: camera_workers.log("a") + camera_workers.log("b"))  # fmt: skip
    assert {fresh(c).lease_owner for c in cams} == {"a", "b"}  # one camera each
    assert_one_reader_at_a_time(rtsp_server.log())
    assert [line for line in rtsp_server.log() if line.startswith("open")].count("open cam1") == 1
    assert (camera_workers.tmp_path / "worker-a.alive").exists()  # the container health check's heartbeat

    mine = next(c for c in cams if c.lease_owner == "a")
    first.terminate()  # a clean stop hands the camera back at once and says it is offline
    assert first.wait(timeout=20) == 0
    assert fresh(mine).lease_owner == "" and mine.status == Status.OFFLINE


def test_a_dead_workers_cameras_are_taken_over_within_the_lease(rtsp_server, camera_workers) -> None:
    hall = Location.objects.create(name="Hall")
    cams = [camera("Left", rtsp_server.url("cam1"), hall), camera("Right", rtsp_server.url("cam2"), hall)]
    first = camera_workers.start("a", lease_s=3, max_fps=4)
    wait_until(lambda: all(fresh(c).status == Status.ONLINE and c.lease_owner == "a" for c in cams), 40,
               lambda: camera_workers.log("a"))  # fmt: skip
    camera_workers.start("b", lease_s=3, max_fps=4)
    wait_until(lambda: "camera worker b started" in camera_workers.log("b"), 30, lambda: camera_workers.log("b"))
    assert all(fresh(c).lease_owner == "a" for c in cams)  # a live worker's cameras stay with it

    first.kill()  # no clean shutdown: its leases must lapse
    killed = timezone.now()
    # lease 3 s + b's next claim (every lease/3) + opening the stream
    wait_until(lambda: all(fresh(c).lease_owner == "b" and c.last_frame_at and c.last_frame_at > killed
                           for c in cams), 12, lambda: camera_workers.log("b"))  # fmt: skip
    assert_one_reader_at_a_time(rtsp_server.log())


def assert_one_reader_at_a_time(log: list[str]) -> None:
    open_now: dict[str, int] = {}
    for line in log:
        verb, _, mount = line.partition(" ")
        if verb in ("open", "close"):
            open_now[mount] = open_now.get(mount, 0) + (1 if verb == "open" else -1)
            assert open_now[mount] <= 1, f"two readers of {mount} at once: {log}"


def test_a_changed_url_is_reopened_and_disabling_a_camera_stops_its_reader(rtsp_server, camera_workers) -> None:
    cam = camera("Side", rtsp_server.url("cam1"), Location.objects.create(name="Yard"))
    camera_workers.start("w", lease_s=3, max_fps=4)
    wait_until(lambda: fresh(cam).status == Status.ONLINE, 30, lambda: camera_workers.log("w"))
    Device.objects.filter(pk=cam.pk).update(stream_url=rtsp_server.url("cam2"))  # edited in the admin
    wait_until(lambda: "open cam2" in rtsp_server.log() and "close cam1" in rtsp_server.log(), 15,
               lambda: camera_workers.log("w"))  # fmt: skip
    Device.objects.filter(pk=cam.pk).update(enabled=False)
    wait_until(lambda: fresh(cam).status == Status.OFFLINE, 10, lambda: camera_workers.log("w"))
    wait_until(lambda: rtsp_server.log().count("close cam2") == 1, 10, rtsp_server.log)
