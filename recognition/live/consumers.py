"""The live websocket: JPEG frames in, tracks with names and emotions out.

Protocol (binary): each client message is a 4-byte big-endian frame id followed by one JPEG. The server answers
each frame it processes with JSON {"type": "frame", "frame_id", "tracks": [...], "ms", "dropped"}. While a
frame is being processed, newer frames replace the waiting one (the older is dropped, never queued), so a slow
server or a fast client never builds a backlog. Text messages may only be JSON {"type": "ping"}.
Bad input closes the socket with a reason: not logged in (4401), text that is not a ping (4400), a frame that is
not a JPEG (4415), a message over the size limit (4413), more frames per second than allowed (4429), no
recognition worker answering when inference runs in Channels workers (4503).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
import uuid
import zlib

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from recognition.conf import recognition_settings

log = logging.getLogger("recognition.live")

JPEG_MAGIC = b"\xff\xd8\xff"


class LiveConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=4401, reason="log in first")
            return
        self.operator, self.own_person = await database_sync_to_async(_viewer)(user)
        self.stream = None
        self.waiting: tuple[int, bytes] | None = None
        self.worker: asyncio.Task | None = None
        self.dropped = 0
        self.window_start = time.monotonic()
        self.window_frames = 0
        await self.accept()
        self.stream_id = uuid.uuid4().hex[:12]
        log.info("live stream %s opened by %s", self.stream_id, user.get_username())

    async def disconnect(self, code: int) -> None:
        worker = getattr(self, "worker", None)
        if worker is not None and not worker.done():
            worker.cancel()
        if recognition_settings().live_inference_channels and hasattr(self, "stream_id"):
            await self.channel_layer.send(self._worker_channel(), {"type": "live.close", "stream_id": self.stream_id})
        self.stream = None  # the LiveSession and its tracks are freed with the connection
        self.waiting = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            try:
                message = json.loads(text_data)
            except ValueError:
                message = None
            if not isinstance(message, dict) or message.get("type") != "ping":
                await self.close(code=4400, reason="frames must be binary; text may only be a ping")
                return
            await self.send(text_data=json.dumps({"type": "pong", "t": message.get("t")}))
            return
        data = bytes_data or b""
        limit = recognition_settings().live_max_message_bytes
        if len(data) > limit:
            await self.close(code=4413, reason=f"frame larger than {limit} bytes")
            return
        if len(data) < 4 + len(JPEG_MAGIC) or data[4 : 4 + len(JPEG_MAGIC)] != JPEG_MAGIC:
            await self.close(code=4415, reason="a frame must be a 4-byte id followed by a JPEG")
            return
        if not self._within_rate():
            await self.close(code=4429, reason=f"more than {recognition_settings().live_max_fps} frames per second")
            return
        (frame_id,) = struct.unpack(">I", data[:4])
        if self.waiting is not None:
            self.dropped += 1
        self.waiting = (frame_id, data[4:])
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._drain())

    def _within_rate(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_frames = now, 0
        self.window_frames += 1
        return self.window_frames <= recognition_settings().live_max_fps

    async def _drain(self) -> None:
        """Process the newest waiting frame until none is waiting."""
        while self.waiting is not None:
            frame_id, jpeg = self.waiting
            self.waiting = None
            started = time.perf_counter()
            if recognition_settings().live_inference_channels:
                result = await self._analyse_in_worker(frame_id, jpeg)
            else:
                result = await sync_to_async(self._analyse_here, thread_sensitive=False)(jpeg)
            if "error" in result:
                await self.close(code=result["code"], reason=result["error"][:120])
                return
            await self.send(text_data=json.dumps({
                "type": "frame", "frame_id": frame_id, **result,  # tracks, seen (and a subclass's own keys)
                "ms": round((time.perf_counter() - started) * 1000, 1), "dropped": self.dropped,
            }))  # fmt: skip

    def _analyse_here(self, jpeg: bytes) -> dict:
        from django.db import close_old_connections

        from recognition.live.streams import analyse_jpeg, open_stream

        close_old_connections()
        if self.stream is None:
            self.stream = open_stream(stream_id=self.stream_id, operator=self.operator, own_person=self.own_person)
        return analyse_jpeg(self.stream, jpeg)

    # --- inference in Channels workers (`manage.py runworker <channel>`), e.g. on GPU machines ----------------
    def _worker_channel(self) -> str:
        """Each stream sticks to one worker channel, so its tracker lives in one process."""
        channels = recognition_settings().live_inference_channels
        return channels[zlib.crc32(self.stream_id.encode()) % len(channels)]

    async def _analyse_in_worker(self, frame_id: int, jpeg: bytes) -> dict:
        self.reply = asyncio.get_running_loop().create_future()
        await self.channel_layer.send(self._worker_channel(), {
            "type": "live.frame", "stream_id": self.stream_id, "reply_channel": self.channel_name,
            "frame_id": frame_id, "jpeg": jpeg, "operator": self.operator, "own_person": self.own_person,
        })  # fmt: skip
        try:
            return await asyncio.wait_for(self.reply, recognition_settings().live_worker_timeout_s)
        except TimeoutError:
            return {"error": "no recognition worker answered; try again later", "code": 4503}

    async def live_result(self, event: dict) -> None:
        """A worker's answer for the frame in flight."""
        reply = getattr(self, "reply", None)
        if reply is not None and not reply.done():
            # the event's own "type" (live.result) must not replace the answer's ("frame": what live.js reads)
            reply.set_result({key: value for key, value in event.items() if key != "type"})


def _viewer(user) -> tuple[bool, int | None]:
    """Whether the user runs a kiosk (operator or admin), and the person they are, if enrolled."""
    from accounts.roles import is_operator
    from recognition.models import Person

    person_id = Person.objects.filter(user=user).values_list("pk", flat=True).first()
    return is_operator(user), person_id
