"""A websocket that answers each message with the platform's status: a live check of the websocket path."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from facesite.health import platform_status


class HealthConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs) -> None:
        status = await database_sync_to_async(platform_status)()
        await self.send_json({"echo": content, "status": status})
