"""Live inference in a Channels background worker (`runworker`) through the Redis channel layer."""

import asyncio
import json

import pytest
import websockets
from django.contrib.auth import get_user_model
from django.test import Client

from tests.live.test_live_socket import enroll_cast, jpeg_message
from tests.support.services import service_env, start_python, stop_process, test_database_url


@pytest.mark.services
def test_frames_are_recognised_by_a_runworker_process(transactional_db, redis_url, media_root, start_daphne,
                                                       hamilton_frames, hamilton_cast, tmp_path) -> None:  # fmt: skip
    enroll_cast(hamilton_cast)
    operator = get_user_model().objects.create_user("kiosk", password="a-long-test-password", is_staff=True)
    client = Client()
    client.force_login(operator)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    env = {"REDIS_URL": redis_url, "LIVE_INFERENCE_CHANNELS": "live-inference-0"}
    worker = start_python(["manage.py", "runworker", "live-inference-0"],
                          service_env(DATABASE_URL=test_database_url(), FACESITE_MEDIA_ROOT=str(media_root), **env),
                          tmp_path / "worker.log")  # fmt: skip
    try:
        web = start_daphne(**env)

        async def stream() -> list[dict]:
            replies = []
            url = f"{web.ws_url}/ws/live/"
            async with websockets.connect(url, origin="http://127.0.0.1", additional_headers={"Cookie": cookie}) as ws:
                for frame_id, frame in enumerate(hamilton_frames[:30]):
                    await ws.send(jpeg_message(frame, frame_id))
                    replies.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
                    await asyncio.sleep(0.04)
            return replies

        replies = asyncio.run(stream())
    finally:
        stop_process(worker)
    worker_log = (tmp_path / "worker.log").read_text()
    assert [(r["type"], r["frame_id"]) for r in replies] == [("frame", n) for n in range(30)]  # as live.js reads
    names = {t["name"] for r in replies for t in r["tracks"] if t["confirmed"]}
    assert "lin_manuel_miranda" in names, (names, worker_log[-2000:])
    # the inference ran in the worker: only its log shows onnxruntime sessions being made
    assert "onnxruntime session" in worker_log
    assert "onnxruntime session" not in web.log()


@pytest.mark.services
def test_no_worker_answering_closes_the_socket_with_a_reason(transactional_db, redis_url, settings) -> None:
    from channels.layers import channel_layers
    from channels.testing import WebsocketCommunicator

    from facesite.asgi import application
    from tests.live.test_live_socket import ORIGIN

    settings.LIVE_INFERENCE_CHANNELS = ["live-inference-nobody"]
    settings.LIVE_WORKER_TIMEOUT_S = 1.0
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [redis_url]}}}  # fmt: skip
    user = get_user_model().objects.create_user("member", password="a-long-test-password")

    async def go() -> dict:
        channel_layers.backends.clear()  # build the Redis layer configured above
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=ORIGIN)
        communicator.scope["user"] = user
        await communicator.connect()
        await communicator.send_to(bytes_data=b"\x00\x00\x00\x01\xff\xd8\xff\xe0" + b"0" * 100)
        message = await communicator.receive_output(timeout=10)
        while message["type"] != "websocket.close":
            message = await communicator.receive_output(timeout=10)
        return message

    try:
        assert asyncio.run(go())["code"] == 4503
    finally:
        channel_layers.backends.clear()
