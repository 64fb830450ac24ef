"""A websocket that answers each message with the platform's status: a live check of the websocket path.

Public on purpose, like /healthz (a monitor checks the websocket path without an account); it tells only
what /healthz tells (database up, pgvector, queue mode, model pack); it echoes the caller's message.
Each connection is limited: a text message of at most HEALTH_MAX_MESSAGE_BYTES (else close 4413), at most
HEALTH_MAX_PER_SECOND messages a second (else close 4429), text only (binary: close 4400). The status itself is
computed at most once per HEALTH_STATUS_TTL_S in each process, whatever the number of connections and messages:
a crowd of sockets cannot turn into a query per message.
"""

import threading
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from facesite.health import platform_status

HEALTH_MAX_MESSAGE_BYTES = 4096
HEALTH_MAX_PER_SECOND = 5
HEALTH_STATUS_TTL_S = 1.0
_status_cache: dict = {"at": float("-inf"), "status": None}
_status_lock = threading.Lock()  # not an asyncio.Lock: the status is computed in a worker thread


def cached_status() -> dict:
    """platform_status(), reused for HEALTH_STATUS_TTL_S; concurrent askers wait for one computation."""
    with _status_lock:
        if time.monotonic() - _status_cache["at"] >= HEALTH_STATUS_TTL_S:
            _status_cache["status"] = platform_status()
            _status_cache["at"] = time.monotonic()
        return _status_cache["status"]


class HealthConsumer(AsyncJsonWebsocketConsumer):
    window_start = 0.0
    window_count = 0

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if text_data is None:
            await self.close(code=4400, reason="send JSON text")
            return
        if len(text_data.encode()) > HEALTH_MAX_MESSAGE_BYTES:
            await self.close(code=4413, reason=f"message larger than {HEALTH_MAX_MESSAGE_BYTES} bytes")
            return
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        if self.window_count > HEALTH_MAX_PER_SECOND:
            await self.close(code=4429, reason=f"more than {HEALTH_MAX_PER_SECOND} messages per second")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.close(code=4400, reason="send JSON text")
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs) -> None:
        status = await database_sync_to_async(cached_status)()
        await self.send_json({"echo": content, "status": status})
