"""Webhook subscriptions (where to send which events, and the secret that signs them) and their deliveries (one
per subscription and event: its status, attempts, last error and when it is tried next)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import URLValidator
from django.db import models

from integrations.events import EventType

# Only http(s): a subscription URL is called from the server, so file:, ftp: or gopher: must never be accepted.
webhook_url_validator = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, validators=[webhook_url_validator])
    secret = models.CharField(
        max_length=200, default=new_secret, help_text="signs every delivery (HMAC-SHA256); the receiver keeps a copy"
    )
    event_types = ArrayField(models.CharField(max_length=32, choices=EventType.choices), default=list)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending (waiting or retrying)"
        DELIVERED = "delivered"
        FAILED = "failed", "failed (gave up)"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    payload = models.JSONField(help_text="the event envelope; the body is this as JSON")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True, help_text="HTTP status of the last try")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="empty once delivered or given up")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="integrations_one_delivery_per_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="integrations_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.subscription.name}: {self.status} after {self.attempts} attempt(s)"
