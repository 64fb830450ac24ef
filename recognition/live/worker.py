"""Live inference in Channels background workers: `python manage.py runworker live-inference-0` on a machine
with a GPU takes frames from the websocket servers through the Redis channel layer and answers them.

Each worker channel keeps the LiveStreams of the streams hashed to it (see LiveConsumer._worker_channel), so a
stream's tracker and votes stay in one process; streams idle for a minute are dropped.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import async_to_sync
from channels.consumer import SyncConsumer

log = logging.getLogger("recognition.live")

IDLE_S = 60.0


class LiveInferenceConsumer(SyncConsumer):
    streams: dict[str, tuple[object, float]] = {}  # per process: stream id -> (LiveStream, last used)

    def live_frame(self, event: dict) -> None:
        from django.db import close_old_connections

        from recognition.live.streams import analyse_jpeg, open_stream

        close_old_connections()
        self._forget_idle()
        stream_id = event["stream_id"]
        entry = self.streams.get(stream_id)
        stream = entry[0] if entry else open_stream(stream_id=stream_id, operator=event["operator"],
                                                    own_person=event["own_person"])  # fmt: skip
        self.streams[stream_id] = (stream, time.monotonic())
        result = analyse_jpeg(stream, event["jpeg"])
        async_to_sync(self.channel_layer.send)(event["reply_channel"], {"type": "live.result", **result})

    def live_close(self, event: dict) -> None:
        self.streams.pop(event["stream_id"], None)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for stream_id, (_, used) in list(self.streams.items()):
            if now - used > IDLE_S:
                del self.streams[stream_id]
