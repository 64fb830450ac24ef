"""The audit log: who changed which identity or biometric data, what they did, and when.

Append-only: an entry is written once and never edited or deleted, by anyone. The model refuses it (save()
of an existing row, delete(), and the queryset's update()/delete()), and so does the database (a trigger, see
the migration), so not even raw SQL can rewrite history. The one change allowed is the database setting
`actor` to NULL when that user account is deleted; `actor_name` keeps who it was.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    """Raised on any attempt to change or delete an audit entry."""


class Action(models.TextChoices):
    ENROLL = "enroll", "enroll"
    RECYCLE = "recycle", "move to the recycle bin"
    RESTORE = "restore", "restore from the recycle bin"
    PURGE = "purge", "purge for good"
    MERGE = "merge", "merge people"
    REPROCESS = "reprocess", "re-process images"
    REEMBED = "reembed", "re-embed the gallery"
    THRESHOLD_CHANGE = "threshold_change", "change a match threshold"
    DATA_EXPORT = "data_export", "export data"
    CONSENT_WITHDRAWAL = "consent_withdrawal", "withdraw consent"
    ERASE = "erase", "erase attendance face crops"
    TOKEN_CREATE = "token_create", "create an API token"
    TOKEN_REVOKE = "token_revoke", "revoke an API token"
    IDENTITY_CONFLICT = "identity_conflict", "face matches another person"
    CONFLICT_RESOLVE = "conflict_resolve", "resolve an identity conflict"
    APPROVE = "approve", "approve a self-enrolled person"
    ATTENDANCE_CORRECTION = "attendance_correction", "correct attendance"
    ATTENDANCE_LEAVE = "attendance_leave", "enter leave or an excused absence"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit entries are append-only: they cannot be updated")

    def delete(self):
        raise AppendOnly("audit entries are append-only: they cannot be deleted")


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="who it was, kept when the account is deleted")
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    target_type = models.CharField(max_length=64, blank=True, help_text="app_label.model, or a kind of data")
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        target = f" {self.target_type} #{self.target_id}" if self.target_id else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name}: {self.action}{target}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnly("audit entries are append-only: an existing entry cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit entries are append-only: they cannot be deleted")
