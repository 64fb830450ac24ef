"""Celery tasks of the project itself."""

from celery import shared_task

from facesite.health import platform_status


@shared_task(name="facesite.health_check")
def health_check() -> dict:
    """Run by a worker to prove the queue, the worker and its database connection work end to end."""
    return platform_status()
