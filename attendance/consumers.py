"""Operators' live attendance feed: every new event, as it is recorded, on /ws/attendance/.

Server -> client only: {"type": "attendance", "event": {...}} (attendance.services.event_payload), and
{"type": "board", "changed": "unknown_face" | "device"} when the dashboard's other tiles change. Closes with
4401 when not logged in and 4403 for users who are not operators or admins. An operator who supervises groups
gets only the events of those groups' members. Text messages may only be
{"type": "ping"}.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.roles import is_operator
from attendance.selectors import supervised_group_ids
from attendance.services import GROUP


def _sees_person(user, person_id: int | None) -> bool:
    from attendance.selectors import visible_people

    return person_id is not None and visible_people(user).filter(pk=person_id).exists()


class AttendanceConsumer(AsyncJsonWebsocketConsumer):
    joined = False
    limited = True  # an operator limited to the groups they supervise gets only their members' events

    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=4401, reason="log in first")
            return
        if not await database_sync_to_async(is_operator)(user):
            await self.close(code=4403, reason="only operators see live attendance")
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        self.joined = True
        # Until this is known each event is checked against the people the user may see (safe, slower).
        self.limited = await database_sync_to_async(supervised_group_ids)(user) is not None

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(GROUP, self.channel_name)
            self.joined = False

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "t": content.get("t")})

    async def attendance_event(self, message: dict) -> None:
        if not self.joined:
            return
        if self.limited and not await database_sync_to_async(_sees_person)(
            self.scope["user"], message["event"].get("person_id")
        ):
            return
        if self.joined:
            await self.send_json({"type": "attendance", "event": message["event"]})

    async def attendance_board(self, message: dict) -> None:
        if self.joined:
            await self.send_json({"type": "board", "changed": message["changed"]})
