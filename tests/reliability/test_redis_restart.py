"""Redis restarted during a live session: recognition resumes, and the attendance feed recovers.

daphne runs with REDIS_URL (the channels-redis layer) on a Redis of this test's own. A live websocket streams
real photos of an enrolled person and an operator's attendance feed (ws/attendance, fed through the channel
layer by group_send) shows the check-in. Then Redis is stopped and started again on the same port. A socket
that the server closed is opened again, as live.js and today.js do after a lost connection (any close code
outside 4400-4499, after a second). Recognition must name the person again and the feed must show the new
event.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import websockets
from django.contrib.auth import get_user_model
from django.test import Client

from facesite.local.redis import EmbeddedRedis
from recognition.engine.imageio import decode_image
from recognition.models import FaceEmbedding, FaceImage, Person
from tests.support.services import free_port

PERSON = "facerec_obama"
RECONNECT_DELAY_S = 1.0  # what live.js waits before reconnecting


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    root = Path(tempfile.mkdtemp(prefix="facesite-redis-restart-"))
    server = EmbeddedRedis(root=root, port=free_port())
    server.ensure_running()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def jpeg_frame(path: Path, frame_id: int) -> bytes:
    image = decode_image(path)
    scale = 480 / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return struct.pack(">I", frame_id) + encoded.tobytes()


def enroll(photos: list[Path]) -> Person:
    from recognition.inference import face_analyzer

    analyzer = face_analyzer()
    person = Person.objects.create(display_name="Barack Obama", slug="barack-obama")
    for k, photo in enumerate(photos):
        faces = analyzer.analyze(decode_image(photo), emotion=False, max_faces=1)
        image = FaceImage.objects.create(person=person, sha256=f"obama{k}".ljust(64, "0"), source="import",
                                         status=FaceImage.Status.ENROLLED, file=f"faces/{k}.jpg")  # fmt: skip
        FaceEmbedding.objects.create(face_image=image, person=person, model_name=analyzer.embedder.name,
                                     vector=faces[0].embedding)  # fmt: skip
    return person


async def recognised(url: str, headers: dict, frame: bytes, name: str, socket=None, frames: int = 60):
    """Stream `frame` (one in flight, like live.js) until a confirmed track carries `name`; returns the socket
    used. Raises ConnectionClosed when the server closes it."""
    socket = socket or await websockets.connect(url, origin="http://127.0.0.1", additional_headers=headers)
    for _ in range(frames):
        await socket.send(frame)
        reply = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if any(t["confirmed"] and t["name"] == name for t in reply["tracks"]):
            return socket
    raise AssertionError(f"{name} was not recognised in {frames} frames")


async def next_event(feed, timeout: float = 30) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(feed.recv(), timeout))
        if message.get("type") == "attendance":
            return message["event"]


@pytest.mark.services
def test_redis_restart_recognition_resumes_and_the_attendance_feed_recovers(
    transactional_db, own_redis: EmbeddedRedis, start_daphne, faces_data: Path
) -> None:
    photos = sorted((faces_data / "identities" / PERSON).iterdir())
    person = enroll(photos[:-1])
    frame = jpeg_frame(photos[-1], 1)
    operator = get_user_model().objects.create_user("kiosk", password="a-long-test-password", is_staff=True)
    client = Client()
    client.force_login(operator)
    headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}

    daphne = start_daphne(REDIS_URL=own_redis.url, LIVE_RECOGNIZE_EVERY="2", ATTENDANCE_COOLDOWN_S="0")
    live_url, feed_url = f"{daphne.ws_url}/ws/live/", f"{daphne.ws_url}/ws/attendance/"
    outcome: dict[str, str] = {}

    async def scenario() -> None:
        feed = await websockets.connect(feed_url, origin="http://127.0.0.1", additional_headers=headers)
        live = await recognised(live_url, headers, frame, person.display_name)
        first = await next_event(feed)
        assert first["person_id"] == person.pk and first["source"] == "kiosk"

        await asyncio.to_thread(own_redis.stop)
        await asyncio.to_thread(own_redis.ensure_running)  # same port, a fresh server process

        # Live: keep using the open socket; if the server closed it, open a new one as live.js does.
        try:
            live = await recognised(live_url, headers, frame, person.display_name, socket=live)
            outcome["live"] = "the open socket kept working"
        except websockets.ConnectionClosed as closed:
            assert not 4400 <= (closed.rcvd.code if closed.rcvd else 1006) < 4500, "live.js would not reconnect"
            await asyncio.sleep(RECONNECT_DELAY_S)
            live = await recognised(live_url, headers, frame, person.display_name)
            outcome["live"] = f"closed ({closed.rcvd.code if closed.rcvd else 'no close frame'}), reconnected"

        await live.close()

        # Attendance feed: is the open one alive (a ping is answered)? If not, open it again as today.js does.
        try:
            await feed.send(json.dumps({"type": "ping"}))
            while json.loads(await asyncio.wait_for(feed.recv(), 10)).get("type") != "pong":
                pass
            outcome["feed"] = "the open feed kept working"
        except (websockets.ConnectionClosed, TimeoutError) as exc:
            await feed.close()
            await asyncio.sleep(RECONNECT_DELAY_S)
            feed = await websockets.connect(feed_url, origin="http://127.0.0.1", additional_headers=headers)
            outcome["feed"] = f"{type(exc).__name__}, reconnected"
        # A new live connection is a new track: its check-in goes through the channel layer to the feed.
        live = await recognised(live_url, headers, frame, person.display_name)
        event = await next_event(feed)
        assert event["person_id"] == person.pk and event["id"] != first["id"]
        await live.close()
        await feed.close()

    asyncio.run(scenario())
    print("after the Redis restart:", outcome)
