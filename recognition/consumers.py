"""The live websocket: JPEG frames in, tracks with names and emotions out.

Protocol (binary): each client message is a 4-byte big-endian frame id followed by one JPEG. The server answers
each frame it processes with JSON {"type": "frame", "frame_id", "tracks": [...], "ms", "dropped"}. While a
frame is being processed, newer frames replace the waiting one (the older is dropped, never queued), so a slow
server or a fast client never builds a backlog. Text messages may only be JSON {"type": "ping"}.
Bad input closes the socket with a reason: not logged in (4401), text that is not a ping (4400), a frame that is
not a JPEG (4415), a message over the size limit (4413), more frames per second than allowed (4429).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
import uuid

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

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
        if len(data) > settings.LIVE_MAX_MESSAGE_BYTES:
            await self.close(code=4413, reason=f"frame larger than {settings.LIVE_MAX_MESSAGE_BYTES} bytes")
            return
        if len(data) < 4 + len(JPEG_MAGIC) or data[4 : 4 + len(JPEG_MAGIC)] != JPEG_MAGIC:
            await self.close(code=4415, reason="a frame must be a 4-byte id followed by a JPEG")
            return
        if not self._within_rate():
            await self.close(code=4429, reason=f"more than {settings.LIVE_MAX_FPS} frames per second")
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
        return self.window_frames <= settings.LIVE_MAX_FPS

    async def _drain(self) -> None:
        """Process the newest waiting frame until none is waiting."""
        while self.waiting is not None:
            frame_id, jpeg = self.waiting
            self.waiting = None
            started = time.perf_counter()
            try:
                tracks = await sync_to_async(self._process, thread_sensitive=False)(jpeg)
            except ValueError as exc:  # InvalidImage: the bytes looked like a JPEG but do not decode
                await self.close(code=4415, reason=str(exc)[:120])
                return
            await self.send(text_data=json.dumps({
                "type": "frame", "frame_id": frame_id, "tracks": tracks,
                "ms": round((time.perf_counter() - started) * 1000, 1), "dropped": self.dropped,
                "seen": [{"person_id": pid, "name": name} for pid, name in self.stream.seen.items()],
            }))  # fmt: skip

    def _process(self, jpeg: bytes) -> list[dict]:
        from django.db import close_old_connections

        from recognition.engine.imageio import decode_image
        from recognition.live import LiveStream

        close_old_connections()
        if self.stream is None:
            self.stream = LiveStream(source="kiosk" if self.operator else "page", stream_id=self.stream_id,
                                     only_person=None if self.operator else (self.own_person or 0))  # fmt: skip
        frame = decode_image(jpeg, max_pixels=settings.LIVE_MAX_FRAME_PIXELS)
        return [track.as_dict() for track in self.stream.process(frame)]


def _viewer(user) -> tuple[bool, int | None]:
    """Whether the user runs a kiosk (operator or admin), and the person they are, if enrolled."""
    from accounts.roles import is_operator
    from recognition.models import Person

    person_id = Person.objects.filter(user=user).values_list("pk", flat=True).first()
    return is_operator(user), person_id
