"""Where an event leaves: every matching webhook subscription gets a delivery, and the MQTT broker (when
configured) gets its messages."""

from __future__ import annotations

from integrations import mqtt, webhooks
from integrations.events import Event


def publish(event: Event) -> None:
    webhooks.fan_out(event)
    mqtt.queue(event)
