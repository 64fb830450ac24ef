"""HTTP responses the attendance pages and the REST API both give: the CSV download and an event's face crop.
Both are private to the person who asked (never kept by a browser cache or a proxy)."""

from __future__ import annotations

import csv

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils import timezone

from attendance.selectors import EventQuery

PRIVATE = "private, no-store"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = PRIVATE
    return response


def csv_filename(query: EventQuery) -> str:
    start, end = query.at_from or query.date_from, query.at_to or query.date_to
    span = "-".join(v.strftime("%Y%m%d") for v in (start, end) if v) or timezone.localdate().strftime(
        "%Y%m%d"
    )
    return f"attendance-{span}.csv"


def evidence_response(event) -> FileResponse:
    if not event.evidence:
        raise Http404("no evidence kept for this event")
    try:
        handle = event.evidence.open("rb")
    except FileNotFoundError:
        raise Http404("the evidence file is gone") from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = PRIVATE
    response["X-Content-Type-Options"] = "nosniff"
    return response
