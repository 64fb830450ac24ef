"""Websockets: a Channels unit round trip, and a live one through daphne."""

import asyncio
import json
from pathlib import Path

import pytest
import websockets
from channels.testing import WebsocketCommunicator

from facesite.asgi import application


@pytest.mark.django_db(transaction=True)
def test_health_socket_round_trip_in_process() -> None:
    async def round_trip() -> dict:
        communicator = WebsocketCommunicator(application, "/ws/health/", headers=[(b"origin", b"http://localhost")])
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"hello": 1})
        reply = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return reply

    reply = asyncio.run(round_trip())
    assert reply["echo"] == {"hello": 1}
    assert reply["status"]["database"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_socket_from_a_foreign_origin_is_refused() -> None:
    async def attempt() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/health/", headers=[(b"origin", b"http://evil.test")])
        connected, _ = await communicator.connect()
        return connected

    assert asyncio.run(attempt()) is False


@pytest.mark.services
def test_health_socket_round_trip_through_daphne(daphne_server: str) -> None:
    url = daphne_server.replace("http://", "ws://") + "/ws/health/"

    async def round_trip() -> dict:
        async with websockets.connect(url, origin="http://127.0.0.1") as socket:
            await socket.send(json.dumps({"n": 42}))
            return json.loads(await asyncio.wait_for(socket.recv(), 10))

    reply = asyncio.run(round_trip())
    assert reply["echo"] == {"n": 42}
    assert reply["status"]["database"] == {"ok": True, "pgvector": reply["status"]["database"]["pgvector"]}
    assert reply["status"]["database"]["pgvector"]


@pytest.mark.services
def test_socket_stays_open_on_the_redis_channel_layer(redis_daphne_server: str, tmp_path: Path) -> None:
    """With REDIS_URL, each consumer blocks on Redis for its channel; an idle socket must survive that
    (redis-py 8 broke it after 5 s), and answer afterwards."""
    url = redis_daphne_server.replace("http://", "ws://") + "/ws/health/"

    async def idle_then_talk() -> dict:
        async with websockets.connect(url, origin="http://127.0.0.1") as socket:
            await asyncio.sleep(7)  # longer than the channel layer's blocking read
            await socket.send(json.dumps({"after": "idle"}))
            return json.loads(await asyncio.wait_for(socket.recv(), 10))

    assert asyncio.run(idle_then_talk())["echo"] == {"after": "idle"}
    assert "Exception inside application" not in (tmp_path / "daphne.log").read_text()
