"""The kiosk socket in process: a paired kiosk's frames record the performer at the kiosk and say so in the
answer (`checkins`); revoking the kiosk closes its socket with 4401 at its next credential check."""

import asyncio
import json
import zoneinfo

import pytest
from channels.testing import WebsocketCommunicator

from attendance.models import AttendanceEvent
from devices import kiosk_consumer, services
from devices.models import Device, Kind, Location, Status
from tests.live.test_live_socket import enroll_cast, jpeg_message


@pytest.mark.django_db(transaction=True)
def test_a_kiosk_records_at_itself_and_a_revoke_closes_it(hamilton_frames, hamilton_cast, settings,
                                                          monkeypatch) -> None:  # fmt: skip
    from facesite.asgi import application

    ids = enroll_cast(hamilton_cast)
    back_door = Location.objects.create(name="Back door", time_zone="Asia/Tokyo")
    exit_ = Device.objects.create(name="Way out", location=back_door, kind=Kind.KIOSK, direction="out")
    _, credential = services.pair(services.start_pairing(exit_))
    cookie = f"{settings.KIOSK_COOKIE}={credential}".encode()

    async def go():
        headers = [(b"origin", b"http://localhost"), (b"cookie", cookie)]
        communicator = WebsocketCommunicator(application, "/ws/kiosk/", headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        checkins = []
        for frame_id, frame in enumerate(hamilton_frames[:40]):
            await communicator.send_to(bytes_data=jpeg_message(frame, frame_id))
            reply = json.loads(await communicator.receive_from(timeout=30))
            checkins += reply["checkins"]
        monkeypatch.setattr(kiosk_consumer, "CHECK_EVERY_S", 0.0)
        await asyncio.to_thread(services.revoke_credential, exit_)
        await communicator.send_to(bytes_data=jpeg_message(hamilton_frames[40], 40))
        closed = await communicator.receive_output(timeout=30)
        await communicator.disconnect()
        return checkins, closed

    checkins, closed = asyncio.run(go())
    event = AttendanceEvent.objects.get(person_id=ids["lin_manuel_miranda"])
    assert (event.device_id, event.source, event.kind) == (exit_.pk, "exit", "check_out")  # an exit checks out
    tokyo = event.at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M")  # the place's own time
    assert {"person_id": event.person_id, "name": "lin_manuel_miranda", "kind": "check_out",
            "local_time": tokyo} in checkins  # fmt: skip
    assert closed["type"] == "websocket.close" and closed["code"] == 4401
    exit_.refresh_from_db()
    assert exit_.status == Status.OFFLINE
