"""Through a real Celery worker over Redis (not eager): a delivery to a receiver that is down is retried by the
worker itself at its backoff and arrives once the receiver is up; the worker's MQTT publisher reaches the
broker."""

from __future__ import annotations

import json

import pytest
from celery import Celery

from integrations import events, mqtt, webhooks
from integrations.models import Delivery
from tests.integrations.conftest import device, subscribe, wait_until
from tests.integrations.test_mqtt import Subscriber

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(monkeypatch, mosquitto: str, request):
    """The suite's worker subprocess, with short backoffs and the test broker in its environment."""
    monkeypatch.setenv("WEBHOOK_BACKOFF_S", "0.5")
    monkeypatch.setenv("WEBHOOK_BACKOFF_MAX_S", "1")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_S", "2")
    monkeypatch.setenv("MQTT_URL", mosquitto)
    monkeypatch.setenv("SITE_URL", "https://faces.example.test")
    return request.getfixturevalue("celery_worker_process")


def test_a_worker_retries_a_delivery_until_the_receiver_is_up(
    worker, redis_url, receiver, django_capture_on_commit_callbacks
) -> None:
    subscribe(receiver.url, "device.offline")
    with django_capture_on_commit_callbacks(execute=False):  # queued below, to the worker, not in this process
        [delivery_id] = webhooks.fan_out(events.device_status(device(), online=False, reason="unplugged"))
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    client.send_task("integrations.tasks.deliver_webhook", [delivery_id])

    assert wait_until(lambda: Delivery.objects.get(pk=delivery_id).attempts >= 1, timeout=60), worker.args
    first = Delivery.objects.get(pk=delivery_id)
    assert first.status == "pending" and "refused" in first.last_error.lower()
    receiver.start()  # the worker's own retry (eta at its backoff) finds it up

    assert wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == "delivered", timeout=30)
    delivered = Delivery.objects.get(pk=delivery_id)
    assert delivered.attempts >= 2 and delivered.last_error == ""
    assert [a["body"]["data"]["reason"] for a in receiver.accepted] == ["unplugged"]


def test_a_worker_publishes_to_the_broker(worker, redis_url, mosquitto) -> None:
    subscriber = Subscriber(mosquitto, "facesite/+/+/availability")
    messages = [[m.topic, m.payload, m.retain] for m in
                mqtt.messages_for(events.device_status(device("Gate"), online=True), "facesite")]  # fmt: skip
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    try:
        assert client.send_task("integrations.tasks.publish_mqtt", [messages]).get(timeout=60) == 2
        assert wait_until(lambda: subscriber.on("facesite/hq-lobby/gate/availability"))
    finally:
        subscriber.close()
    assert subscriber.on("facesite/hq-lobby/gate/availability")[-1].payload == b"online"
    assert json.loads(messages[0][1])["type"] == "device.online"
