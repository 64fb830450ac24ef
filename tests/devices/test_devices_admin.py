"""The admin of places and devices: live status per device, pairing codes, a password never shown back; and the
arrows between apps (recognition never imports devices)."""

import ast
import re
from pathlib import Path

from django.utils import timezone

from devices import services
from devices.models import Device, Kind, Location, Status

REPO = Path(__file__).resolve().parents[2]


def test_the_device_list_shows_each_cameras_live_status(staff_client) -> None:
    hall = Location.objects.create(name="Hall")
    cam = Device.objects.create(name="Hall cam", location=hall, kind=Kind.CAMERA, stream_url="rtsp://h/x")
    services.report_status(cam.pk, Status.ERROR, error="no frame for 10 s", fps=0.0, last_frame_at=timezone.now())
    page = staff_client.get("/admin/devices/device/").content.decode()
    assert "Hall cam" in page and "error" in page and "no frame for 10 s" in page


def test_the_change_form_never_shows_the_stream_password(staff_client) -> None:
    hall = Location.objects.create(name="Hall")
    response = staff_client.post("/admin/devices/device/add/", {
        "name": "Gate", "location": hall.pk, "kind": "camera", "direction": "both", "enabled": "on",
        "stream_url": "rtsp://admin:hunter2@10.1.1.1/live",
    })  # fmt: skip
    assert response.status_code == 302, response.content[-2000:]
    gate = Device.objects.get(name="Gate")
    assert gate.stream_url == "rtsp://admin@10.1.1.1/live"
    assert services.reader_url(gate) == "rtsp://admin:hunter2@10.1.1.1/live"
    page = staff_client.get(f"/admin/devices/device/{gate.pk}/change/").content.decode()
    assert "hunter2" not in page and "stored (encrypted)" in page


def test_the_pairing_action_shows_a_code_that_pairs(staff_client) -> None:
    kiosk = Device.objects.create(name="Tablet", location=Location.objects.create(name="Door"), kind=Kind.KIOSK)
    response = staff_client.post("/admin/devices/device/", {"action": "new_pairing_code",
                                                             "_selected_action": [kiosk.pk]}, follow=True)  # fmt: skip
    code = re.search(r"pairing code <b>([A-Z0-9]{8})</b>", response.content.decode()).group(1)
    assert services.pair(code)[0].pk == kiosk.pk


def test_recognition_never_imports_devices() -> None:
    offenders = []
    for path in (REPO / "recognition").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])  # fmt: skip
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "devices"]
    assert not offenders
