"""Logging filters named in facesite/settings/logs.py LOGGING."""

from __future__ import annotations

import logging


class OrdinaryForbidden(logging.Filter):
    """A 403 (a member opening a staff page) is an ordinary answer: keep its one-line warning in django.request,
    drop the PermissionDenied traceback Django attaches to it, which reads like a crash in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
