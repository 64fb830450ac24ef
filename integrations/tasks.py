"""Celery tasks of integrations (default queue). Thin: they call services."""

from __future__ import annotations

import logging

from celery import shared_task

from integrations import mqtt, webhooks

log = logging.getLogger("integrations")


@shared_task(name="integrations.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str | None:
    """Try one delivery; a failure schedules the next try at its backoff (in eager mode, without a worker, the
    next try waits for the beat task instead of running at once)."""
    delivery = webhooks.attempt(delivery_id)
    if delivery is None:
        return None
    if delivery.status == delivery.Status.PENDING and not deliver_webhook.app.conf.task_always_eager:
        deliver_webhook.apply_async([delivery_id], eta=delivery.next_attempt_at)
    return delivery.status


@shared_task(name="integrations.tasks.requeue_due_deliveries")
def requeue_due_deliveries() -> int:
    """Queue every delivery that is due (run by Celery beat): nothing is lost when the broker lost a task."""
    ids = list(webhooks.due_deliveries().values_list("pk", flat=True))
    webhooks.queue(ids)
    return len(ids)


@shared_task(name="integrations.tasks.purge_old_deliveries")
def purge_old_deliveries() -> int:
    return webhooks.purge_old_deliveries()


@shared_task(name="integrations.tasks.publish_mqtt", bind=True, max_retries=8)
def publish_mqtt(self, messages: list[list]) -> int:
    """Publish [topic, payload, retain] messages at QoS 1; a broker that is down is retried with backoff."""
    try:
        mqtt.publish([mqtt.Message(topic, payload, bool(retain)) for topic, payload, retain in messages])
    except mqtt.PublishFailed as exc:
        if self.app.conf.task_always_eager:  # no worker to wait in: the request must not block on retries
            log.warning("MQTT messages not published: %s", exc)
            return 0
        raise self.retry(exc=exc, countdown=min(300, 2 ** self.request.retries)) from exc
    return len(messages)
