"""The kiosk's websocket: the live protocol (recognition/live/consumers.py), authenticated as a paired kiosk.

The kiosk's credential (its cookie) is checked on connect and again every CHECK_EVERY_S, so a revoked or
disabled kiosk stops within seconds (closed with 4401). Confirmed people are recorded at the kiosk (its
location, and as check-outs when it is an exit); each frame's answer adds `checkins`, the events just recorded,
for the kiosk's "Welcome, Ada - checked in 08:57". A kiosk that requires liveness records a person only after
the head-turn challenge (devices/kiosk_liveness.py); its answers add `liveness`, the challenge's state.
"""

from __future__ import annotations

import logging
import time
import uuid
import zoneinfo

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from devices.conf import device_settings
from recognition.live.consumers import LiveConsumer

log = logging.getLogger("devices")

CHECK_EVERY_S = 5.0


class KioskConsumer(LiveConsumer):
    async def connect(self) -> None:
        from devices.services import kiosk_for_credential

        credential = self.scope.get("cookies", {}).get(device_settings().kiosk_cookie)
        device = await database_sync_to_async(kiosk_for_credential)(credential)
        if device is None:
            await self.accept()
            await self.close(code=4401, reason="this kiosk is not paired")
            return
        self.credential, self.device_id, self.checked_at = credential, device.pk, time.monotonic()
        self.source = device.attendance_source
        self.require_liveness = device.require_liveness
        self.gate = None
        self.zone = _zone(device.location.time_zone)
        self.operator, self.own_person = True, None
        self.stream = None
        self.waiting = None
        self.worker = None
        self.dropped = 0
        self.window_start = time.monotonic()
        self.window_frames = 0
        await self.accept()
        self.stream_id = f"kiosk-{device.pk}-{uuid.uuid4().hex[:8]}"
        await database_sync_to_async(_online)(device.pk, True)
        log.info("kiosk %s (%s) connected", device.pk, device.name)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if hasattr(self, "device_id"):
            await database_sync_to_async(_online)(self.device_id, False)

    async def _analyse_in_worker(self, frame_id: int, jpeg: bytes) -> dict:
        # A kiosk's stream records at its device; Channels inference workers do not carry that yet, so a
        # kiosk's frames are analysed in this process whatever LIVE_INFERENCE_CHANNELS says.
        return await sync_to_async(self._analyse_here, thread_sensitive=False)(jpeg)

    def _analyse_here(self, jpeg: bytes) -> dict:
        from django.db import close_old_connections

        from devices.kiosk_liveness import LivenessGate
        from devices.services import kiosk_for_credential
        from recognition.engine.imageio import InvalidImage
        from recognition.live.streams import LiveStream, analyse_frame, decode_frame

        close_old_connections()
        if time.monotonic() - self.checked_at > CHECK_EVERY_S:
            if kiosk_for_credential(self.credential) is None:
                return {"error": "this kiosk's credential was revoked", "code": 4401}
            self.checked_at = time.monotonic()
        if self.stream is None:
            self.stream = LiveStream(source=self.source, stream_id=self.stream_id, device_id=self.device_id,
                                     hold_confirmations=self.require_liveness)  # fmt: skip
            self.gate = LivenessGate(self.stream) if self.require_liveness else None
        try:
            frame = decode_frame(jpeg)
        except InvalidImage as exc:
            return {"error": str(exc), "code": 4415}
        result = analyse_frame(self.stream, frame)
        if self.gate is not None:
            named = {t["person_id"] for t in result["tracks"] if t["person_id"] is not None}
            result["liveness"] = self.gate.offer(frame, named, time.monotonic()).as_dict()
        events, self.stream.recorded = self.stream.recorded, []
        result["checkins"] = [
            {"person_id": e.person_id, "name": e.person.display_name, "kind": e.kind,
             "local_time": e.at.astimezone(self.zone).strftime("%H:%M")}
            for e in events
        ]  # fmt: skip
        return result


def _zone(name: str) -> zoneinfo.ZoneInfo:
    from django.utils import timezone

    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def _online(device_id: int, online: bool) -> None:
    from devices.models import Status
    from devices.services import report_status

    report_status(device_id, Status.ONLINE if online else Status.OFFLINE)
