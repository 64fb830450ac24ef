"""Attendance pages (included under /attendance/): today live for operators, history with filters (members see
their own), CSV export, and the evidence crops, which only staff/operators and the person themself may see."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from accounts.roles import is_operator
from accounts.services import person_for_user
from attendance import charts, dashboard, report_exports, reports, selectors, services
from attendance.conf import attendance_settings
from attendance.models import Correction, Kind, Leave, Source
from attendance.responses import PRIVATE, csv_filename, csv_response, evidence_response
from attendance.selectors import EventQuery, InvalidQuery
from attendance.shift_rules import STATUS_LABELS

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
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain")
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


# --- reports, leave and corrections (issue 17) --------------------------------------------------------------
REPORT_DAY_ROWS = 2000  # the page lists days up to this many person-days; the downloads have them all


def _report(request: HttpRequest) -> tuple[reports.Report | None, dict[str, str]]:
    try:
        query = reports.ReportQuery.from_params(request.GET, today=timezone.localdate())
    except InvalidQuery as exc:
        return None, exc.errors
    return reports.build(request.user, query), {}


@require_GET
@login_required
def report(request: HttpRequest) -> HttpResponse:
    """Statuses and totals per person (and group) for a day, week, month or range; members see their own."""
    found, errors = _report(request)
    operator = is_operator(request.user)
    return render(request, "attendance/report.html", {
        "report": found, "errors": errors, "params": request.GET, "operator": operator,
        "groups": selectors.visible_groups(request.user) if operator else [],
        "people": selectors.visible_people(request.user).values_list("pk", "display_name")[:PEOPLE_IN_FILTER]
        if operator else [],
        "day_rows": found.days[:REPORT_DAY_ROWS] if found else [], "day_limit": REPORT_DAY_ROWS,
        "download_query": urlencode(found.query.as_params()) if found else "",
        "status_labels": STATUS_LABELS,
    }, status=400 if errors else 200)  # fmt: skip


@require_GET
@login_required
def report_download(request: HttpRequest, fmt: str) -> HttpResponse:
    found, errors = _report(request)
    if errors:
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain")
    services.record_report_export(request.user, found.query, "page", fmt)
    if fmt == "xlsx":
        return report_exports.xlsx_download(found)
    return report_exports.csv_download(found, "days" if request.GET.get("table") == "days" else "totals")


REFUSALS = {
    services.Refusal.LEAVE_REVERSED: "the leave ends before it starts.",
    services.Refusal.NO_REASON: "give a reason.",
    services.Refusal.NO_TIME: "give the day and time.",
    services.Refusal.NOT_AN_EVENT_KIND: "a missed event is a check-in or a check-out.",
    services.Refusal.UNKNOWN_KIND: "unknown kind of correction ({kind}).",
    services.Refusal.ALREADY_DECIDED: "this request was {state} already.",
}


def _local_datetime(raw: str):
    parsed = parse_datetime(raw or "")
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@login_required
def corrections(request: HttpRequest) -> HttpResponse:
    """Operators: correct the attendance of the people they manage (add a missed check-in/out, mark an event
    wrong), enter leave, and decide members' requests. Members: ask for a correction, see their requests."""
    operator = is_operator(request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "decide" and operator:
                services.decide_correction(request.user, int(request.POST["correction"]),
                                           approve=request.POST.get("approve") == "1")  # fmt: skip
                messages.success(request, "Decision recorded.")
            elif action == "leave" and operator:
                first = parse_date(request.POST.get("first_day", ""))
                last = parse_date(request.POST.get("last_day", "")) or first
                if first is None:
                    raise services.Refused(services.Refusal.NO_TIME)
                services.enter_leave(request.user, person_id=int(request.POST["person"]), first_day=first,
                                     last_day=last, reason=request.POST.get("reason", ""))  # fmt: skip
                messages.success(request, "Leave entered.")
            elif action in ("add", "void"):
                fields = {
                    "kind": action, "reason": request.POST.get("reason", ""),
                    "at": _local_datetime(request.POST.get("at", "")),
                    "event_kind": request.POST.get("event_kind", ""),
                    "event_id": int(request.POST["event"]) if request.POST.get("event", "").isdigit() else None,
                }  # fmt: skip
                if operator:
                    services.correct(request.user, person_id=int(request.POST.get("person") or 0), **fields)
                    messages.success(request, "Correction applied.")
                else:
                    services.request_correction(request.user, **fields)
                    messages.success(request, "Request sent to an operator.")
            else:
                return HttpResponse("unknown action", status=400, content_type="text/plain")
        except services.NotYours:
            raise Http404("no such person") from None
        except services.Refused as refused:
            messages.error(request, "Not saved: " + REFUSALS[refused.code].format(**refused.params))
        except (ValueError, KeyError, Correction.DoesNotExist):
            messages.error(request, "Not saved: the form was incomplete (a person, a number or a date is missing).")
        return redirect("attendance:corrections")
    people = selectors.visible_people(request.user)
    listed = Correction.objects.filter(person__in=people).select_related("person", "event", "requested_by")
    pending = listed.filter(state=Correction.State.REQUESTED)
    return render(request, "attendance/corrections.html", {
        "operator": operator, "pending": pending, "recent": listed.exclude(state=Correction.State.REQUESTED)[:50],
        "people": people.values_list("pk", "display_name")[:PEOPLE_IN_FILTER] if operator else [],
        "leave": Leave.objects.filter(person__in=people).select_related("person")[:50],
        "event_kinds": [("check_in", "check-in"), ("check_out", "check-out")],
        "my_events": [] if operator else selectors.visible_events(request.user).filter(
            at__gte=timezone.now() - timedelta(days=31)).order_by("-at")[:200],
    })  # fmt: skip


# --- the home dashboard (issue 17) --------------------------------------------------------------------------
def dashboard_context(request: HttpRequest) -> dict:
    """What the home page shows a logged-in user: the board and chart for operators, their own for members."""
    if is_operator(request.user):
        days = dashboard.recent_days(request.user)
        svg = charts.stacked_days_svg(days, title="present, late and absent, last 14 days")
        # the SVG is built from numbers and escaped text (attendance/charts.py)
        return {"operator": True, "board": dashboard.today_board(request.user), "chart": mark_safe(svg)}  # noqa: S308
    return {"operator": False, "mine": dashboard.member_home(request.user)}


@require_GET
@login_required
def board(request: HttpRequest) -> HttpResponse:
    """The operators' board and chart as an HTML fragment: the dashboard swaps it in when an event arrives."""
    if not is_operator(request.user):
        raise Http404("operators only")
    response = render(request, "attendance/_board.html", dashboard_context(request))
    response["Cache-Control"] = PRIVATE
    return response


@require_GET
@login_required
def groups(request: HttpRequest) -> HttpResponse:
    """The groups the user may see with their members (an operator: the ones they supervise, or all), each
    with a link to its report. Staff edit groups in the admin."""
    if not is_operator(request.user):
        raise Http404("operators only")
    members = selectors.visible_people(request.user).order_by("display_name")
    found = selectors.visible_groups(request.user).prefetch_related(Prefetch("members", queryset=members))
    return render(request, "attendance/groups.html", {"groups": found})


@require_GET
@login_required
def emotions(request: HttpRequest) -> HttpResponse:
    """The share of each emotion over a day, per live session or source, with what the model can and cannot
    tell. Operators; a member (their own faces only) when ATTENDANCE_EMOTIONS_FOR_MEMBERS is on."""
    operator = is_operator(request.user)
    if not operator and not attendance_settings().emotions_for_members:
        raise Http404("the emotion chart is for operators")
    raw = request.GET.get("day", "")
    try:
        day = parse_date(raw) if raw else timezone.localdate()
    except ValueError:
        day = None
    if day is None:
        return render(request, "attendance/emotions.html", {"errors": {"day": "a date (YYYY-MM-DD)"}}, status=400)
    series = dashboard.emotion_series(request.user, day)
    # the SVG is built from counts and escaped text (attendance/charts.py)
    charted = [(s, mark_safe(charts.emotion_shares_svg(s.buckets, title=f"emotions, {s.key}"))) for s in series]  # noqa: S308
    return render(request, "attendance/emotions.html", {
        "day": day, "charted": charted, "operator": operator,
        "uncertain_below": attendance_settings().emotion_uncertain_below,
    })  # fmt: skip
