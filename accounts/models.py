"""Accounts' own records: the consent a person gave to biometric processing (and when they withdrew it).

Users are Django's own; a user's face data is the recognition Person linked to them (Person.user). API tokens
are DRF's authtoken (one per user: "create" makes or rotates it, "revoke" deletes it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Consent(models.Model):
    """One consent to biometric processing: the exact text shown, its version, when given and when withdrawn.
    Rows are never edited except to set `withdrawn_at`, so the history of what someone agreed to stays."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    text = models.TextField(help_text="the consent text exactly as shown")
    version = models.CharField(max_length=32)
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(withdrawn_at__isnull=True), name="one_active_consent"
            )
        ]

    def __str__(self) -> str:
        state = f"withdrawn {self.withdrawn_at:%Y-%m-%d}" if self.withdrawn_at else "active"
        return f"consent v{self.version} of {self.user} ({state})"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None
