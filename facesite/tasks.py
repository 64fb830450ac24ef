"""Celery tasks of the project itself."""

from celery import shared_task

from facesite.health import platform_status


@shared_task(name="facesite.health_check")
def health_check() -> dict:
    """Run by a worker to prove the queue, the worker and its database connection work end to end."""
    return platform_status()


@shared_task(name="facesite.tasks.clear_sessions")
def clear_sessions() -> None:
    """Delete expired sessions from django_session (Django never does it by itself); run by Celery beat."""
    from django.core.management import call_command

    call_command("clearsessions")


@shared_task(name="facesite.tasks.prune_backups")
def prune_backups() -> int:
    """Delete backups older than BACKUP_RETENTION_DAYS; run by Celery beat."""
    from facesite.backup import prune_backups as prune

    return len(prune())
