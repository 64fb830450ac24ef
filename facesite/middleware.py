"""A database outage answers 503 "try again" instead of a 500 with a traceback page.

While PostgreSQL is restarting (or unreachable) every query raises OperationalError or InterfaceError. Django
closes a broken connection when the request ends and connects afresh on the next one (CONN_HEALTH_CHECKS), so
the web process recovers by itself once the database is back; until then each request gets a short 503 with
Retry-After. The answer is plain text rendered without templates: templates would ask the database again
(the logged-in user, context processors).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

log = logging.getLogger("facesite.database")

DATABASE_ERRORS = (OperationalError, InterfaceError)
MESSAGE = "The database is unavailable at the moment; try again in a few seconds."
_FLAG = "facesite.database_unavailable"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36em; margin: 4em auto; padding: 0 1em">
<h1>Temporarily unavailable</h1><p>{message}</p><p><a href="{path}">Try again</a></p></body></html>
"""


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.path.startswith("/api/")
        or request.path == "/healthz"
        or "application/json" in accept
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: the API's JSON error shape for API clients, a small HTML page for browsers."""
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"error": "database_unavailable", "message": MESSAGE, "status": 503}, status=503
        )
    else:
        page = PAGE.format(message=escape(MESSAGE), path=escape(request.get_full_path()))
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(settings.DB_UNAVAILABLE_RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns OperationalError/InterfaceError into 503.

    process_exception covers views (DRF re-raises what its handler does not map). A database error in another
    middleware (a session saved in SessionMiddleware.process_response, say) has already become a 500 response
    by the time it reaches this one, which sits near the top of MIDDLEWARE: the got_request_exception receiver
    below marks such requests, and the 500 is replaced here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and request.META.get(_FLAG):
            return database_unavailable(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        detail = str(exception).strip().splitlines()
        log.warning("database unavailable for %s %s: %s", request.method, request.path,
                    detail[0] if detail else type(exception).__name__)
        return database_unavailable(request)


@receiver(got_request_exception, dispatch_uid="facesite.middleware.mark_database_errors")
def _mark_database_errors(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """Sent while Django turns an uncaught exception into a 500, in its except block (exc_info holds it)."""
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        request.META[_FLAG] = True
