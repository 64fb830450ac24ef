"""MQTT: the same events published to a broker (paho-mqtt, QoS 1), on topics

    <prefix>/<location>/<device>/attendance      an attendance event (JSON envelope)
    <prefix>/<location>/<device>/unknown_face    an unknown face stayed at a device (JSON envelope)
    <prefix>/<location>/<device>/status          a device went online or offline (JSON envelope)
    <prefix>/<location>/<device>/availability    "online" or "offline", retained (the broker keeps the latest)
    <prefix>/_/_/enrollment                      an enrollment batch finished (JSON envelope)
    <prefix>/status                              "online" while a publisher is connected, else "offline" (its
                                                 last will), retained

<location> and <device> are slugs of their names ("_" when an event has none: an API or page check-in, an
enrollment). Off unless MQTT_URL is set (mqtt://user:password@host:1883, mqtts:// for TLS).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from celery import current_app
from django.utils.text import slugify
from kombu.exceptions import OperationalError

from integrations import signing
from integrations.conf import integration_settings
from integrations.events import Event, EventType

log = logging.getLogger("integrations.mqtt")
QOS = 1
PUBLISH_TASK = "integrations.tasks.publish_mqtt"  # sent by name: integrations.tasks imports this module
NONE = "_"


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool = False


def segment(described: dict | None) -> str:
    """A topic level for a device or location: the slug of its name (its id if the name has no letters)."""
    if not described:
        return NONE
    return slugify(described.get("name") or "")[:64] or str(described.get("id") or NONE)


def messages_for(event: Event, prefix: str) -> list[Message]:
    base = f"{prefix}/{segment(event.location)}/{segment(event.device)}"
    body = signing.body_of(event.as_dict()).decode()
    if event.type == EventType.ATTENDANCE_CREATED:
        return [Message(f"{base}/attendance", body)]
    if event.type == EventType.UNKNOWN_FACE:
        return [Message(f"{base}/unknown_face", body)]
    if event.type in (EventType.DEVICE_ONLINE, EventType.DEVICE_OFFLINE):
        return [Message(f"{base}/status", body), Message(f"{base}/availability", event.data["status"], retain=True)]
    if event.type == EventType.ENROLLMENT_FINISHED:
        return [Message(f"{prefix}/{NONE}/{NONE}/enrollment", body)]
    return []


def queue(event: Event) -> bool:
    """Hand the event's messages to a worker (nothing when MQTT_URL is unset)."""
    conf = integration_settings()
    if not conf.mqtt_url:
        return False
    messages = [[m.topic, m.payload, m.retain] for m in messages_for(event, conf.mqtt_topic_prefix)]
    try:
        current_app.signature(PUBLISH_TASK, args=(messages,)).delay()  # by name: the task module calls this
    except OperationalError as exc:
        log.warning("task queue unavailable (%s): MQTT messages of %s %s not sent", exc, event.type, event.id)
        return False
    return True


class PublishFailed(RuntimeError):
    pass


class Publisher:
    """One connection per process, kept open: paho's network thread reconnects by itself (1 s to 30 s apart),
    and a publish waits for the broker's PUBACK (QoS 1) or fails, so the task can retry."""

    def __init__(self, url: str, prefix: str, timeout_s: float) -> None:
        import paho.mqtt.client as paho

        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"MQTT_URL must be mqtt://host:port or mqtts://host:port, not {url!r}")
        self.url, self.timeout_s, self.status_topic = url, timeout_s, f"{prefix}/status"
        self.connected = threading.Event()
        client_id = f"facesite-{socket.gethostname()}-{os.getpid()}"[:64]
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
        if parts.username:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme in ("mqtts", "ssl"):
            self.client.tls_set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.will_set(self.status_topic, "offline", qos=QOS, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        default_port = 8883 if parts.scheme in ("mqtts", "ssl") else 1883
        self.client.connect_async(parts.hostname, parts.port or default_port, keepalive=60)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker %s refused the connection: %s", self.url.split("@")[-1], reason_code)
            return
        client.publish(self.status_topic, "online", qos=QOS, retain=True)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()

    def publish(self, messages: list[Message]) -> None:
        deadline = time.monotonic() + self.timeout_s
        if not self.connected.wait(self.timeout_s):
            raise PublishFailed(f"not connected to the MQTT broker within {self.timeout_s:g}s")
        pending = [self.client.publish(m.topic, m.payload, qos=QOS, retain=m.retain) for m in messages]
        for info in pending:
            try:
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                raise PublishFailed(str(exc)) from exc
            if not info.is_published():
                raise PublishFailed(f"the MQTT broker did not acknowledge within {self.timeout_s:g}s")

    def close(self) -> None:
        try:
            if self.connected.is_set():
                self.client.publish(self.status_topic, "offline", qos=QOS, retain=True).wait_for_publish(1)
        except (RuntimeError, ValueError):
            pass  # the broker is gone: its last will says offline for us
        self.client.disconnect()
        self.client.loop_stop()


_publishers: dict[str, Publisher] = {}
_lock = threading.Lock()


def publisher() -> Publisher:
    """This process's publisher for the configured broker (made on first use; a changed MQTT_URL gets a new one)."""
    conf = integration_settings()
    key = f"{conf.mqtt_url}|{conf.mqtt_topic_prefix}"
    with _lock:
        current = _publishers.get(key)
        if current is None:
            for stale in _publishers.values():
                stale.close()
            _publishers.clear()
            current = _publishers[key] = Publisher(conf.mqtt_url, conf.mqtt_topic_prefix, conf.mqtt_timeout_s)
        return current


def publish(messages: list[Message]) -> None:
    publisher().publish(messages)


def close_all() -> None:
    """Disconnect this process's publishers (tests; a worker's end is the broker's last will)."""
    with _lock:
        for stale in _publishers.values():
            stale.close()
        _publishers.clear()
