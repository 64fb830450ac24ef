"""Webhook deliveries: one Delivery row per (subscription, event), tried by a Celery task, retried with
exponential backoff until it arrives or WEBHOOK_MAX_ATTEMPTS is reached. The row is the truth: if the broker
loses a task, the beat task `requeue_due_deliveries` finds the delivery due and queues it again."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from celery import current_app
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from integrations import signing
from integrations.conf import integration_settings
from integrations.events import Event
from integrations.models import Delivery, WebhookSubscription

log = logging.getLogger("integrations.webhooks")
USER_AGENT = "facesite-webhooks/1"
DELIVER_TASK = "integrations.tasks.deliver_webhook"  # sent by name: integrations.tasks imports this module


# --- creating deliveries ------------------------------------------------------------------------------------------
def fan_out(event: Event) -> list[int]:
    """A pending delivery for every enabled subscription to the event's type, queued once this commits."""
    now = timezone.now()
    payload = event.as_dict()
    ids = [
        Delivery.objects.create(
            subscription=subscription, event_id=event.id, event_type=event.type, payload=payload, next_attempt_at=now
        ).pk
        for subscription in WebhookSubscription.objects.filter(enabled=True, event_types__contains=[event.type])
    ]
    if ids:
        transaction.on_commit(lambda: queue(ids))
    return ids


def queue(delivery_ids: list[int]) -> bool:
    """Hand deliveries to the workers; with the broker down they stay due and the beat task queues them later."""
    try:
        for delivery_id in delivery_ids:
            current_app.signature(DELIVER_TASK, args=(delivery_id,)).delay()  # by name: the task module calls this
    except OperationalError as exc:
        log.warning("task queue unavailable (%s): %s webhook deliveries wait for the next requeue", exc,
                    len(delivery_ids))  # fmt: skip
        return False
    return True


def due_deliveries(now=None) -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now or timezone.now())


def resend(deliveries: QuerySet[Delivery]) -> int:
    """Send deliveries again (delivered, given up or waiting): they become pending with a fresh attempt count."""
    with transaction.atomic():
        ids = list(deliveries.values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), delivered_at=None
        )
        transaction.on_commit(lambda: queue(ids))
    return len(ids)


# --- one attempt ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not an instruction to call another address from the server.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url[:100]!r}")


def post(url: str, secret: str, payload: dict, *, timeout_s: float, event_type: str, delivery_id: int) -> Outcome:
    """POST the signed JSON body; 2xx is delivered, anything else (a refusal, a timeout, 3xx/4xx/5xx) is not."""
    try:
        check_url(url)
    except ValueError as exc:
        return Outcome(ok=False, error=str(exc))
    body = signing.body_of(payload)
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Facesite-Event": event_type,
        "X-Facesite-Delivery": str(delivery_id), **signing.signed_headers(secret, int(time.time()), body),
    }  # fmt: skip
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            return Outcome(ok=200 <= response.status < 300, status_code=response.status,
                           error="" if 200 <= response.status < 300 else f"HTTP {response.status}")  # fmt: skip
    except urllib.error.HTTPError as exc:
        return Outcome(ok=False, status_code=exc.code, error=f"HTTP {exc.code} {exc.reason}"[:500])
    except urllib.error.URLError as exc:
        return Outcome(ok=False, error=f"cannot reach the receiver: {exc.reason}"[:500])
    except (TimeoutError, OSError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])


def backoff_s(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try: WEBHOOK_BACKOFF_S doubled each time, capped."""
    conf = integration_settings()
    return min(conf.webhook_backoff_max_s, conf.webhook_backoff_s * 2 ** max(0, attempts - 1))


def attempt(delivery_id: int) -> Delivery | None:
    """Try one due delivery once and record the outcome; None when it is not due (done, or taken by another
    worker: the claim below moves its next attempt past the request's timeout, so two workers never both send
    it, and a worker that dies mid-try leaves it due again afterwards)."""
    conf = integration_settings()
    now = timezone.now()
    claimed = due_deliveries(now).filter(pk=delivery_id).update(
        attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=2 * conf.webhook_timeout_s + 5)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.enabled:
        outcome = Outcome(ok=False, error="the subscription is disabled")
        delivery.attempts = conf.webhook_max_attempts  # no point trying again
    else:
        outcome = post(subscription.url, subscription.secret, delivery.payload, timeout_s=conf.webhook_timeout_s,
                       event_type=delivery.event_type, delivery_id=delivery.pk)  # fmt: skip
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    if outcome.ok:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts >= conf.webhook_max_attempts:
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
        log.warning("webhook delivery %s to %s given up after %s attempts: %s", delivery.pk, subscription.url,
                    delivery.attempts, outcome.error)  # fmt: skip
    else:
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=backoff_s(delivery.attempts))
    delivery.save(update_fields=["status", "attempts", "last_status_code", "last_error", "next_attempt_at",
                                 "delivered_at", "updated_at"])  # fmt: skip
    return delivery


# --- housekeeping ----------------------------------------------------------------------------------------------------
def purge_old_deliveries(now=None) -> int:
    """Deliveries delivered or given up more than WEBHOOK_DELIVERY_RETENTION_DAYS ago are deleted (their payloads
    name people); 0 keeps them for ever."""
    days = integration_settings().webhook_delivery_retention_days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    done = Delivery.objects.exclude(status=Delivery.Status.PENDING).filter(updated_at__lt=cutoff)
    return done.delete()[0]


def forget_person(person_id: int) -> int:
    """An erased person leaves the delivery log too, pending deliveries about them included."""
    return Delivery.objects.filter(payload__data__person__id=person_id).delete()[0]
