"""Celery tasks of the attendance domain. Thin: they call services."""

from __future__ import annotations

from celery import shared_task

from attendance import services


@shared_task(name="attendance.tasks.purge_expired_evidence")
def purge_expired_evidence() -> int:
    """Delete attendance face crops older than EVIDENCE_RETENTION_DAYS (run by Celery beat; events stay)."""
    return services.purge_expired_evidence()
