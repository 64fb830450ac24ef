"""What the platform can tell about its own health: database, pgvector, queue mode and model pack."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection


def platform_status() -> dict:
    """A small, non-sensitive status summary for /healthz, the health websocket and the health task."""
    from recognition.inference import active_pack

    database: dict = {"ok": False}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        database = {"ok": True, "pgvector": row[0] if row else None}
    except DatabaseError as exc:
        database = {"ok": False, "error": exc.__class__.__name__}
    pack = active_pack()
    return {
        "database": database,
        "queue": "eager" if settings.CELERY_TASK_ALWAYS_EAGER else "celery",
        "model_pack": {"name": pack.name, "licence": pack.licence_line},
    }
