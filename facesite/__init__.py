"""The Django project: settings, URLs, ASGI (http + websocket) and the Celery app."""

from facesite.celery import app as celery_app

__all__ = ("celery_app",)
