"""Attendance pages (included under /attendance/): today live for operators, history with filters (members see
their own), CSV export, and the evidence crops, which only staff/operators and the person themself may see."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import is_operator
from accounts.services import person_for_user
from attendance import selectors, services
from attendance.models import Kind, Source
from attendance.responses import csv_filename, csv_response, evidence_response
from attendance.selectors import EventQuery, InvalidQuery

EVENTS_PER_PAGE = 50
SUMMARIES_PER_PAGE = 50
TODAY_EVENTS = 100
PEOPLE_IN_FILTER = 1000


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not (request.user.is_authenticated and request.user.is_active):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@login_required
def today(request: HttpRequest) -> HttpResponse:
    """Operators: today's attendance, updated live over /ws/attendance/. Members go to their own history."""
    if not is_operator(request.user):
        return redirect("attendance:history")
    day = timezone.localdate()
    todays = selectors.events(request.user, EventQuery(date_from=day, date_to=day))
    summaries = selectors.daily_summaries(request.user, selectors.summary_keys(todays))
    summaries.sort(key=lambda s: s.person.lower())
    return render(request, "attendance/today.html", {
        "day": day, "summaries": summaries, "events": todays[:TODAY_EVENTS], "event_limit": TODAY_EVENTS,
    })  # fmt: skip


def _query(request: HttpRequest) -> tuple[EventQuery, dict[str, str]]:
    try:
        query = EventQuery.from_params(request.GET)
    except InvalidQuery as exc:
        return EventQuery(), exc.errors
    if not is_operator(request.user):
        query = dataclasses.replace(query, person_id=None)  # members only ever see themselves
    return query, {}


@require_GET
@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Any day or range with filters; members see only their own events."""
    operator = is_operator(request.user)
    query, errors = _query(request)
    found = selectors.events(request.user, query)
    keys = Paginator(selectors.summary_keys(found), SUMMARIES_PER_PAGE).get_page(request.GET.get("days"))
    events = Paginator(found, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    people = []
    if operator:
        people = selectors.visible_people(request.user).values_list("pk", "display_name")[:PEOPLE_IN_FILTER]
    me = person_for_user(request.user, create=False) if not operator else None
    return render(request, "attendance/history.html", {
        "operator": operator, "me": me, "query": query, "errors": errors, "params": request.GET,
        "summaries": selectors.daily_summaries(request.user, keys), "days_page": keys, "events": events,
        "people": people, "sources": Source.choices, "kinds": Kind.choices,
        "export_query": urlencode(query.as_params()),
    })  # fmt: skip


@require_GET
@login_required
def export_csv(request: HttpRequest) -> HttpResponse:
    query, errors = _query(request)
    if errors:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain"
        )
    found = selectors.events(request.user, query).order_by("at", "pk")
    services.record_export(request.user, query, "page")
    return csv_response(selectors.csv_rows(found), csv_filename(query))


@require_GET
@login_required
def evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """The face crop of one event: for operators and admins, and for the member the event belongs to. Another
    member's event is "not found", as in the API: a 403 would tell that it exists."""
    event = selectors.visible_events(request.user).filter(pk=pk).first()
    if event is None:
        raise Http404("no such event")
    return evidence_response(event)
