"""Websockets: a Channels unit round trip, and a live one through daphne."""

import asyncio
import json

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
def test_socket_stays_open_on_the_redis_channel_layer(transactional_db, redis_url, media_root, tmp_path) -> None:
    """With REDIS_URL, each consumer blocks on Redis for its channel; an idle socket must survive that
    (redis-py 8 broke it after 5 s), and answer afterwards."""
    import subprocess
    import sys

    from tests.conftest import REPO, free_port, service_env, stop_process, test_database_url, wait_for_port

    port = free_port()
    log = (tmp_path / "daphne.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "facesite.asgi:application"],
        cwd=REPO, env=service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url),
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, server)

        async def idle_then_talk() -> dict:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/health/", origin="http://127.0.0.1") as socket:
                await asyncio.sleep(7)  # longer than the channel layer's blocking read
                await socket.send(json.dumps({"after": "idle"}))
                return json.loads(await asyncio.wait_for(socket.recv(), 10))

        assert asyncio.run(idle_then_talk())["echo"] == {"after": "idle"}
    finally:
        stop_process(server)
        log.close()
    assert "Exception inside application" not in (tmp_path / "daphne.log").read_text()
