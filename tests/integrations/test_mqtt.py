"""MQTT against a real mosquitto broker: a paho subscriber receives the attendance message on its device's topic
and the retained availability of a device, also when it subscribes after the fact."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest

from attendance.services import record_presence
from integrations import events, mqtt
from integrations.events import describe_device, describe_location
from integrations.signals import device_status_changed
from tests.attendance.factories import BOX, frame
from tests.integrations.conftest import device, wait_until

pytestmark = pytest.mark.django_db


class Subscriber:
    """A paho client that keeps every message it gets under `topic`."""

    def __init__(self, url: str, topic: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.messages: list[paho.MQTTMessage] = []
        self.subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _client, _userdata, message: self.messages.append(message)
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert self.subscribed.wait(10), "the subscriber could not subscribe"

    def on(self, topic: str) -> list[paho.MQTTMessage]:
        return [m for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(mosquitto: str, settings) -> Iterator[str]:
    settings.MQTT_URL = mosquitto
    yield mosquitto
    mqtt.close_all()


def test_an_attendance_event_is_published_on_its_topic(broker, ada, django_capture_on_commit_callbacks) -> None:
    subscriber = Subscriber(broker, "facesite/#")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event = record_presence(person_id=ada.pk, source="kiosk", score=0.7, margin=0.3, frame_bgr=frame(),
                                    box=BOX, stream="s")  # fmt: skip
        topic = "facesite/_/_/attendance"  # no device or location yet: placeholders
        assert wait_until(lambda: subscriber.on(topic)), [m.topic for m in subscriber.messages]
    finally:
        subscriber.close()
    message = subscriber.on(topic)[0]
    body = json.loads(message.payload)
    assert message.qos == 1 and not message.retain
    assert body["type"] == "attendance.created" and body["data"]["id"] == event.pk
    assert body["data"]["person"]["name"] == "Ada Lovelace" and body["data"]["score"] == 0.7
    assert body["data"]["evidence_url"].startswith("https://faces.example.test/api/v1/attendance/")


def test_device_availability_is_retained_for_later_subscribers(broker, django_capture_on_commit_callbacks) -> None:
    door = device("Front Door #1", "HQ Lobby", pk=11)
    early = Subscriber(broker, "facesite/hq-lobby/front-door-1/#")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            device_status_changed.send(sender=object, device=door, online=True)
            device_status_changed.send(sender=object, device=door, online=False, reason="stream lost")
        availability = "facesite/hq-lobby/front-door-1/availability"
        assert wait_until(lambda: len(early.on(availability)) == 2)
        assert [m.payload for m in early.on(availability)] == [b"online", b"offline"]
        status = [json.loads(m.payload) for m in early.on("facesite/hq-lobby/front-door-1/status")]
        assert [s["type"] for s in status] == ["device.online", "device.offline"]
        assert status[1]["data"]["reason"] == "stream lost"
    finally:
        early.close()

    late = Subscriber(broker, availability)  # subscribes after the fact: the broker hands over the latest
    try:
        assert wait_until(lambda: late.on(availability))
        assert [(m.payload, m.retain) for m in late.on(availability)] == [(b"offline", True)]
    finally:
        late.close()


def test_the_publisher_says_it_is_online_retained(broker, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=True)
    watcher = Subscriber(broker, "facesite/status")
    try:
        assert wait_until(lambda: watcher.on("facesite/status"))
        assert watcher.on("facesite/status")[-1].payload == b"online"
    finally:
        watcher.close()


def test_topics_use_slugs_and_placeholders() -> None:
    door = device("Säule / Eingang+#", None)
    assert mqtt.segment(describe_device(door)) == "saule-eingang"  # no "/", "+" or "#" reaches a topic
    assert mqtt.segment(describe_location(door.location)) == "_"
    assert mqtt.segment({"id": 5, "name": "###"}) == "5"


def test_mqtt_is_off_without_a_url(settings) -> None:
    settings.MQTT_URL = ""
    assert mqtt.queue(events.device_status(device(), online=True)) is False


def test_an_attendance_event_at_a_device_goes_to_that_devices_topic(ada, django_capture_on_commit_callbacks) -> None:
    """An event recorded at a device: the topic and the payload name the device and its location."""
    from devices.models import Device, Location

    camera = Device.objects.create(name="Entrance cam", location=Location.objects.create(name="Main building"),
                                   kind="camera")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        event = record_presence(person_id=ada.pk, source="camera", score=0.5, margin=0.1, frame_bgr=frame(),
                                box=BOX, stream="s", device_id=camera.pk)  # fmt: skip
    [message] = mqtt.messages_for(events.attendance_created(event), "site")
    body = json.loads(message.payload)
    assert message.topic == "site/main-building/entrance-cam/attendance"
    assert body["device"]["name"] == "Entrance cam" and body["location"]["name"] == "Main building"
