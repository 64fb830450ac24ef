"""Places and devices: the API and its write-only secrets, kiosk pairing and revocation, device status signals,
and attendance events that name their device."""

import asyncio

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from attendance.models import AttendanceEvent
from attendance.services import record_presence
from devices import secrets, services
from devices.models import Device, Kind, Location, Status
from devices.signals import device_status_changed
from recognition.models import Person


@pytest.fixture
def staff_api(db) -> APIClient:
    admin = get_user_model().objects.create_superuser("admin", password="a-long-test-password")
    client = APIClient()
    client.force_authenticate(admin)
    return client


@pytest.fixture
def door(db) -> Location:
    return Location.objects.create(name="Front door")


def test_a_camera_password_goes_in_and_never_comes_back(staff_api, door) -> None:
    reply = staff_api.post("/api/v1/devices/", {
        "name": "Gate cam", "location": door.pk, "kind": "camera", "direction": "in",
        "stream_url": "rtsp://viewer:s3cr%2Ft@10.0.0.5:554/stream1",
    }, format="json")  # fmt: skip
    assert reply.status_code == 201, reply.content
    assert b"s3cr" not in reply.content
    assert reply.json()["stream_url"] == "rtsp://viewer@10.0.0.5:554/stream1"
    assert reply.json()["has_stream_password"] is True
    device = Device.objects.get(pk=reply.json()["id"])
    with connection.cursor() as cursor:  # not in any column in the clear
        cursor.execute("SELECT stream_url, stream_secret FROM devices_device WHERE id = %s", [device.pk])
        assert "s3cr" not in " ".join(cursor.fetchone())
    assert services.reader_url(device) == "rtsp://viewer:s3cr%2Ft@10.0.0.5:554/stream1"
    listed = staff_api.get("/api/v1/devices/")
    assert b"s3cr" not in listed.content and listed.json()["results"][0]["location_name"] == "Front door"


def test_changing_a_camera_keeps_its_password_unless_given(staff_api, door) -> None:
    device = staff_api.post("/api/v1/devices/", {"name": "c", "location": door.pk, "kind": "camera",
                                                 "stream_url": "rtsp://u:p1@h/a"}, format="json").json()  # fmt: skip
    staff_api.patch(f"/api/v1/devices/{device['id']}/", {"stream_url": "rtsp://u@h/b"}, format="json")
    assert services.reader_url(Device.objects.get(pk=device["id"])) == "rtsp://u:p1@h/b"
    staff_api.patch(f"/api/v1/devices/{device['id']}/", {"stream_password": "p2"}, format="json")
    assert services.reader_url(Device.objects.get(pk=device["id"])) == "rtsp://u:p2@h/b"


def test_a_location_with_devices_is_not_removed(staff_api, door) -> None:
    Device.objects.create(name="Tablet", location=door, kind=Kind.KIOSK)
    assert staff_api.delete(f"/api/v1/locations/{door.pk}/").status_code == 400
    assert Location.objects.filter(pk=door.pk).exists()


def test_members_cannot_see_devices(db, door) -> None:
    member = get_user_model().objects.create_user("member", password="a-long-test-password")
    client = APIClient()
    client.force_authenticate(member)
    assert client.get("/api/v1/devices/").status_code == 403
    assert client.post("/api/v1/locations/", {"name": "x"}, format="json").status_code == 403


def test_the_schema_describes_devices_without_secrets_in_answers(staff_api) -> None:
    schema = staff_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/devices/{id}/pairing/" in schema["paths"]
    device = schema["components"]["schemas"]["Device"]["properties"]
    assert "stream_password" not in device and "stream_secret" not in device and "credential_hash" not in device


def test_a_pairing_code_works_once_and_revoking_stops_the_kiosk(staff_api, door) -> None:
    kiosk = Device.objects.create(name="Tablet", location=door, kind=Kind.KIOSK)
    reply = staff_api.post(f"/api/v1/devices/{kiosk.pk}/pairing/")
    assert reply.status_code == 201
    code = reply.json()["code"]
    assert reply.json()["link"].endswith(f"/kiosk/?code={code}")
    kiosk.refresh_from_db()
    assert code not in kiosk.pairing_code_hash  # only its hash is stored
    device, credential = services.pair(code.lower())
    assert device.pk == kiosk.pk and services.kiosk_for_credential(credential).pk == kiosk.pk
    assert services.pair(code) is None  # spent
    assert services.kiosk_for_credential(credential[:-1] + "x") is None
    staff_api.post(f"/api/v1/devices/{kiosk.pk}/revoke/")
    assert services.kiosk_for_credential(credential) is None


def test_a_camera_cannot_pair_and_an_expired_code_fails(staff_api, door, settings) -> None:
    camera = Device.objects.create(name="Cam", location=door, kind=Kind.CAMERA)
    assert staff_api.post(f"/api/v1/devices/{camera.pk}/pairing/").status_code == 400
    settings.DEVICE_PAIRING_TTL_S = -1
    kiosk = Device.objects.create(name="Tablet", location=door, kind=Kind.KIOSK)
    assert services.pair(services.start_pairing(kiosk)) is None


def test_the_pairing_page_sets_the_device_cookie(client, door, settings) -> None:
    kiosk = Device.objects.create(name="Tablet", location=door, kind=Kind.KIOSK)
    assert b"Pair this kiosk" in client.get("/kiosk/").content
    assert client.post("/kiosk/pair/", {"code": "WRONG"}).status_code == 400
    response = client.post("/kiosk/pair/", {"code": services.start_pairing(kiosk)})
    assert response.status_code == 302
    cookie = response.cookies[settings.KIOSK_COOKIE]
    assert cookie["httponly"] and services.kiosk_for_credential(cookie.value).pk == kiosk.pk
    page = client.get("/kiosk/")
    assert b"kiosk.js" in page.content and b"Front door" in page.content
    assert b"/admin/" not in page.content  # no navigation on a kiosk


@pytest.mark.django_db(transaction=True)
def test_an_unpaired_kiosk_socket_is_refused() -> None:
    from facesite.asgi import application

    async def go():
        communicator = WebsocketCommunicator(application, "/ws/kiosk/", headers=[
            (b"origin", b"http://localhost"), (b"cookie", b"facesite_kiosk=1.forged")])  # fmt: skip
        await communicator.connect()
        message = await communicator.receive_output(timeout=10)
        while message["type"] != "websocket.close":
            message = await communicator.receive_output(timeout=10)
        return message

    assert asyncio.run(go())["code"] == 4401


@pytest.mark.django_db(transaction=True)
def test_status_changes_are_announced_once_after_commit() -> None:
    camera = Device.objects.create(name="Cam", location=Location.objects.create(name="Hall"), kind=Kind.CAMERA)
    heard = []

    def listener(sender, device, previous, status, **kwargs):
        heard.append((device.pk, previous, status))

    device_status_changed.connect(listener)
    try:
        services.report_status(camera.pk, Status.ONLINE, fps=9.5)
        services.report_status(camera.pk, Status.ONLINE, fps=10.0)  # no change of status: no signal
        services.report_status(camera.pk, Status.ERROR, error="rtsp://u:pw@h/x: connection refused")
    finally:
        device_status_changed.disconnect(listener)
    assert heard == [(camera.pk, "unknown", "online"), (camera.pk, "online", "error")]
    camera.refresh_from_db()
    assert camera.fps == 10.0 and "pw" not in camera.last_error and camera.last_seen is not None


def test_an_event_names_its_device_and_an_exit_checks_out(db, door, settings) -> None:
    settings.EVIDENCE_RETENTION_DAYS = 0
    person = Person.objects.create(display_name="Ada", slug="ada")
    entrance = Device.objects.create(name="In", location=door, kind=Kind.KIOSK, direction="in")
    exit_ = Device.objects.create(name="Out", location=door, kind=Kind.CAMERA, direction="out")
    frame, box = np.zeros((8, 8, 3), np.uint8), np.array([0, 0, 4, 4])
    came = record_presence(person_id=person.pk, source=entrance.attendance_source, score=0.7, margin=0.3,
                           frame_bgr=frame, box=box, stream="s", device_id=entrance.pk)  # fmt: skip
    left = record_presence(person_id=person.pk, source=exit_.attendance_source, score=0.7, margin=0.3,
                           frame_bgr=frame, box=box, stream="s", device_id=exit_.pk)  # fmt: skip
    assert (came.device, came.source, came.kind) == (entrance, "kiosk", "check_in")
    assert (left.device.location, left.source, left.kind) == (door, "exit", "check_out")
    without = record_presence(person_id=person.pk, source="api", score=0.7, margin=0.3, frame_bgr=frame, box=box,
                              stream="s")  # fmt: skip
    assert without.device is None and without.source == "api"
    assert AttendanceEvent.objects.filter(device__location=door).count() == 2


def test_stream_secrets_helpers() -> None:
    assert secrets.split_password("rtsp://cam/x") == ("rtsp://cam/x", "")
    assert secrets.join_password("rtsp://cam/x", "") == "rtsp://cam/x"
    assert secrets.redact("could not open rtsp://admin:hunter2@cam/x") == "could not open rtsp://admin:***@cam/x"


def test_a_location_needs_a_real_time_zone(staff_api) -> None:
    assert staff_api.post("/api/v1/locations/", {"name": "Paris office", "time_zone": "Europe/Paris"},
                          format="json").status_code == 201  # fmt: skip
    reply = staff_api.post("/api/v1/locations/", {"name": "Atlantis", "time_zone": "Ocean/Atlantis"}, format="json")
    assert reply.status_code == 400 and "time_zone" in reply.content.decode()


def test_guessing_pairing_codes_is_limited(db, client, settings) -> None:
    settings.KIOSK_PAIR_ATTEMPTS_PER_HOUR = 3
    from django.core.cache import cache

    cache.clear()
    try:
        codes = [client.post("/kiosk/pair/", {"code": f"GUESS00{k}"}).status_code for k in range(5)]
    finally:
        cache.clear()  # the count would carry over to later tests of this process
    assert codes == [400, 400, 400, 429, 429]


@pytest.mark.django_db(transaction=True)
def test_camera_leases_one_worker_at_a_time_and_taken_over_after_expiry() -> None:
    from django.db.models.functions import Now

    hall = Location.objects.create(name="Lease hall")
    cams = [Device.objects.create(name=f"c{k}", location=hall, kind=Kind.CAMERA, stream_url=f"rtsp://h/{k}")
            for k in range(3)]  # fmt: skip
    Device.objects.create(name="no url", location=hall, kind=Kind.CAMERA)  # nothing to read: never claimed
    a = services.claim_cameras("a", lease_s=30, limit=2)
    b = services.claim_cameras("b", lease_s=30, limit=2)
    assert len(a) == 2 and [d.pk for d in b] == [cams[2].pk]  # the one left, never one of a's
    assert services.claim_cameras("c", lease_s=30, limit=5) == []
    assert {d.pk for d in services.claim_cameras("a", lease_s=30, limit=2)} == {d.pk for d in a}  # a keeps its own
    Device.objects.filter(lease_owner="a").update(lease_expires_at=Now())  # a died: its leases lapse
    assert {d.pk for d in services.claim_cameras("c", lease_s=30, limit=5)} == {d.pk for d in a}
    assert services.renew_leases("a", [d.pk for d in a], lease_s=30) == set()  # a, back, has lost them
    services.release_leases("c", [d.pk for d in a])
    assert not Device.objects.filter(lease_owner="c").exists()
