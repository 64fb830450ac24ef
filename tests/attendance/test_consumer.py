"""The operators' live attendance feed (/ws/attendance/), through Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from attendance.consumers import AttendanceConsumer
from attendance.services import GROUP, record_presence
from tests.attendance.factories import BOX, frame, utc


def as_user(user):
    """The consumer with `user` in its scope (what AuthMiddlewareStack puts there from the session)."""
    consumer = AttendanceConsumer.as_asgi()

    async def app(scope, receive, send):
        return await consumer({**scope, "user": user}, receive, send)

    return app


async def close_thread_connections() -> None:
    """The ORM calls ran in asgiref's worker thread: close its connection, or the test database cannot be
    dropped at the end of the session."""
    await sync_to_async(connections.close_all)()


def record(person, minute: int):
    return record_presence(
        person_id=person.pk, source="camera", score=0.7, margin=0.2, frame_bgr=frame(), box=BOX,
        stream="live/track-3", at=utc(2025, 6, 10, 9, minute),
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_an_operator_receives_each_new_event(people) -> None:
    async def run():
        socket = WebsocketCommunicator(as_user(people["operator"]), "/ws/attendance/")
        connected, _ = await socket.connect()
        assert connected
        event = await database_sync_to_async(record)(people["alice"], 0)
        message = await socket.receive_json_from(timeout=5)
        swallowed = await database_sync_to_async(record)(people["alice"], 1)  # cooldown: nothing is sent
        quiet = await socket.receive_nothing(timeout=0.3)
        await socket.send_json_to({"type": "ping", "t": 7})
        pong = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        await close_thread_connections()
        return event, message, swallowed, quiet, pong

    event, message, swallowed, quiet, pong = asyncio.run(run())
    assert message["type"] == "attendance"
    body = message["event"]
    assert body["id"] == event.pk and body["person"] == "Alice Archer" and body["kind"] == "check_in"
    assert body["summary"] == {"first_in": "09:00:00", "last_out": None, "present_s": 0, "events": 1,
                               "checked_out": False}  # fmt: skip
    assert swallowed is None and quiet is True
    assert pong == {"type": "pong", "t": 7}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who, code", [("member", 4403), ("anonymous", 4401)])
def test_members_and_anonymous_users_are_refused(people, who, code) -> None:
    user = people["alice_user"] if who == "member" else AnonymousUser()

    async def run():
        socket = WebsocketCommunicator(as_user(user), "/ws/attendance/")
        await socket.connect()
        closed = await socket.receive_output(timeout=5)
        await close_thread_connections()
        return closed, dict(get_channel_layer().groups)

    closed, groups = asyncio.run(run())
    assert closed["type"] == "websocket.close" and closed["code"] == code
    assert not groups.get(GROUP)  # never joined the feed


@pytest.mark.django_db(transaction=True)
def test_an_operator_limited_to_a_group_gets_only_its_members_events(people) -> None:
    from attendance.models import AttendanceGroup

    group = AttendanceGroup.objects.create(name="Alice's team")
    group.members.add(people["alice"])
    group.supervisors.add(people["operator"])

    async def run():
        socket = WebsocketCommunicator(as_user(people["operator"]), "/ws/attendance/")
        connected, _ = await socket.connect()
        assert connected
        await database_sync_to_async(record)(people["bob"], 0)
        bob_quiet = await socket.receive_nothing(timeout=0.5)
        await database_sync_to_async(record)(people["alice"], 0)
        message = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        await close_thread_connections()
        return bob_quiet, message

    bob_quiet, message = asyncio.run(run())
    assert bob_quiet
    assert message["event"]["person_id"] == people["alice"].pk


@pytest.mark.django_db(transaction=True)
def test_an_unknown_face_and_a_device_going_offline_tell_the_dashboards_to_refresh(people) -> None:
    from django.utils import timezone

    from attendance.services import record_unknown_face
    from devices.models import Device, Kind, Location, Status
    from devices.services import report_status

    def unknown_then_again_then_device():
        now = timezone.now()
        record_unknown_face(source="kiosk", stream="k/track-1", first_seen_at=now, seen_s=2.0)
        record_unknown_face(source="kiosk", stream="k/track-1", first_seen_at=now, seen_s=10.0)  # the same face
        door = Device.objects.create(name="Door", kind=Kind.KIOSK, location=Location.objects.create(name="Lobby"))
        report_status(door.pk, Status.OFFLINE)

    async def run():
        socket = WebsocketCommunicator(as_user(people["operator"]), "/ws/attendance/")
        assert (await socket.connect())[0]
        await database_sync_to_async(unknown_then_again_then_device)()
        messages = [await socket.receive_json_from(timeout=5), await socket.receive_json_from(timeout=5)]
        quiet = await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        await close_thread_connections()
        return messages, quiet

    messages, quiet = asyncio.run(run())
    assert messages == [{"type": "board", "changed": "unknown_face"}, {"type": "board", "changed": "device"}]
    assert quiet  # the same face reported again is not a new unknown face
