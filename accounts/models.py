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
    Rows are never edited except to set `withdrawn_at` (and to detach a deleted account), so the history of what
    someone agreed to stays."""

    # Kept when the account is deleted, as evidence of what was agreed and when (the account's biometric data is
    # erased first: accounts.services.erase_deleted_account); `account_id` still says whose it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents"
    )
    account_id = models.BigIntegerField(null=True, blank=True, help_text="the account's id, kept after deletion")
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
        who = self.user if self.user_id else f"deleted account #{self.account_id}"
        return f"consent v{self.version} of {who} ({state})"

    def save(self, *args, **kwargs) -> None:
        if self.user_id and self.account_id is None:
            self.account_id = self.user_id
        super().save(*args, **kwargs)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None
