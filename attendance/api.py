"""/api/v1/attendance/: events (list with filters, one event, its face crop), per-person daily summaries and a
CSV export. Operators and admins read every event; a member only their own; anonymous callers get 401.

Registered on the project's router in facesite/api_urls.py with `attendance_api.register(router)`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import BaseRouter
from rest_framework.settings import api_settings

from attendance import reports, selectors, services
from attendance.models import AttendanceEvent, Kind, Source
from attendance.responses import csv_filename, csv_response, evidence_response
from attendance.selectors import EventQuery, InvalidQuery
from attendance.shift_rules import Status


class AttendanceEventSerializer(serializers.ModelSerializer):
    person_name = serializers.SerializerMethodField()
    local_time = serializers.SerializerMethodField(help_text="time of day in the site's time zone")
    evidence_url = serializers.SerializerMethodField(help_text="the face crop (JPEG), or null when none is kept")

    class Meta:
        model = AttendanceEvent
        fields = ["id", "person", "person_name", "anonymous_key", "at", "day", "local_time", "source", "kind",
                  "score", "margin", "emotion", "stream", "device", "evidence_url"]  # fmt: skip
        read_only_fields = fields

    def get_person_name(self, event: AttendanceEvent) -> str:
        return event.person.display_name if event.person_id else ""

    def get_local_time(self, event: AttendanceEvent) -> str:
        from django.utils import timezone

        return timezone.localtime(event.at).strftime("%H:%M:%S")

    def get_evidence_url(self, event: AttendanceEvent) -> str | None:
        if not event.evidence:
            return None
        return reverse("v1:attendance-evidence", args=[event.pk], request=self.context.get("request"))


class DaySummarySerializer(serializers.Serializer):
    person = serializers.IntegerField()
    person_name = serializers.CharField()
    day = serializers.DateField(help_text="local date in the site's time zone")
    first_in = serializers.DateTimeField(allow_null=True)
    last_out = serializers.DateTimeField(allow_null=True)
    present_s = serializers.IntegerField(help_text="seconds between check-ins and their last check-outs")
    events = serializers.IntegerField()
    checked_out = serializers.BooleanField(help_text="the day's latest event is a check-out")


class CSVRenderer(BaseRenderer):
    """Lets a client ask for text/csv; the export streams its own body, errors come out as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data, default=str).encode() if data is not None else b""


class JPEGRenderer(CSVRenderer):
    media_type = "image/jpeg"
    format = "jpg"
    charset = None


ID = {"type": "integer", "minimum": 0}
DAY_OR_MOMENT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
FILTERS = [
    OpenApiParameter("person", ID, description="a person's id"),
    OpenApiParameter("source", str, enum=Source.values),
    OpenApiParameter("kind", str, enum=Kind.values),
    OpenApiParameter("from", DAY_OR_MOMENT, description="first local day (YYYY-MM-DD), or an ISO 8601 date-time"),
    OpenApiParameter(
        "to", DAY_OR_MOMENT, description="last local day (YYYY-MM-DD, inclusive), or an ISO 8601 date-time"
    ),
]


def in_utc(moment: datetime | None, name: str) -> datetime | None:
    """An instant in UTC: PostgreSQL refuses offsets past +-15:59 that ISO 8601 (and Python) allow, a 500 else."""
    try:
        return None if moment is None else moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError({name: ["a date-time out of range"]}) from None


def refuse_blanks(params, names: list[str]) -> None:
    """`?to=` is an error in the API, where each filter is published as a date, an id or an enum (the pages share
    the parsers, and there a blank form field means "not given")."""
    blank = {name: ["leave it out or give a value"] for name in names if name in params and not params[name].strip()}
    if blank:
        raise ValidationError(blank)


ERRORS = {
    400: OpenApiResponse(description="a filter that cannot be read"),
    401: OpenApiResponse(description="no credentials"),
    404: OpenApiResponse(description="no such event (or not yours)"),
}


@extend_schema_view(
    list=extend_schema(summary="Attendance events", parameters=FILTERS,
                       description="Newest first, paginated (?page=, ?page_size=); members get their own.",
                       responses={200: AttendanceEventSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="One attendance event",
                           responses={200: AttendanceEventSerializer, **ERRORS}),
)  # fmt: skip
class AttendanceEventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AttendanceEventSerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list = []  # the filters are parsed once, by EventQuery, for pages and API alike
    lookup_value_regex = r"[0-9]+"

    def query(self) -> EventQuery:
        refuse_blanks(self.request.query_params, [p.name for p in FILTERS])
        source = self.request.query_params.get("source", "").strip()
        if source and source not in Source.values:  # published as an enum: an unknown source is an error, not []
            raise ValidationError({"source": [f"one of {', '.join(Source.values)}"]})
        try:
            query = EventQuery.from_params(self.request.query_params)
        except InvalidQuery as exc:
            raise ValidationError(exc.errors) from None
        return replace(query, at_from=in_utc(query.at_from, "from"), at_to=in_utc(query.at_to, "to"))

    def get_queryset(self):
        if self.action in ("retrieve", "evidence"):
            return selectors.visible_events(self.request.user)
        return selectors.events(self.request.user, self.query())

    @extend_schema(summary="Per-person daily summaries", parameters=FILTERS,
                   description="One row per person and local day among the matching events, newest first, "
                               "paginated; the figures use all of that person's events of the day.",
                   responses={200: DaySummarySerializer(many=True), **ERRORS})  # fmt: skip
    @action(detail=False, methods=["get"])
    def summaries(self, request: Request) -> Response:
        keys = self.paginate_queryset(selectors.summary_keys(self.get_queryset()))
        rows = [s.as_dict() for s in selectors.daily_summaries(request.user, keys)]
        return self.get_paginated_response(DaySummarySerializer(rows, many=True).data)

    @extend_schema(summary="Attendance events as CSV", parameters=FILTERS,
                   responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS})  # fmt: skip
    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer, CSVRenderer])
    def export(self, request: Request):
        events = self.get_queryset().order_by("at", "pk")
        services.record_export(request.user, self.query(), "api")
        return csv_response(selectors.csv_rows(events), csv_filename(self.query()))

    @extend_schema(summary="An event's face crop", responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **ERRORS})
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, JPEGRenderer])
    def evidence(self, request: Request, pk=None):
        return evidence_response(self.get_object())


# --- reports (issue 17) --------------------------------------------------------------------------------------
class TotalsSerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person_id", allow_null=True, help_text="null on the total row")
    name = serializers.CharField()
    scheduled_days = serializers.IntegerField(help_text="days with a shift that were judged (not holidays)")
    present_days = serializers.IntegerField(help_text="present, late, early exit or half day")
    late_days = serializers.IntegerField()
    late_min = serializers.IntegerField(help_text="minutes after the shift's start, summed over late days")
    early_exit_days = serializers.IntegerField()
    early_exit_min = serializers.IntegerField()
    half_days = serializers.IntegerField()
    absent_days = serializers.IntegerField()
    leave_days = serializers.IntegerField()
    holidays = serializers.IntegerField()
    missing_check_outs = serializers.IntegerField()
    worked_h = serializers.FloatField()
    overtime_h = serializers.FloatField()
    statuses = serializers.DictField(child=serializers.IntegerField(), help_text="days per status")


@extend_schema_serializer(many=False)  # the `list` action answers one report object, not a list
class ReportSerializer(serializers.Serializer):
    first = serializers.DateField(source="query.first")
    last = serializers.DateField(source="query.last")
    group = serializers.IntegerField(source="query.group_id", allow_null=True)
    group_name = serializers.CharField(source="group")
    people = TotalsSerializer(many=True)
    total = TotalsSerializer()
    groups = TotalsSerializer(many=True, help_text="the same totals per group (`person` is the group's id)")


class ReportDaySerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField(source="person")
    day = serializers.DateField()
    shift = serializers.CharField(help_text="the shift's name, empty without one")
    status = serializers.ChoiceField(source="status.status", choices=[s.value for s in Status])
    late_min = serializers.IntegerField(source="status.late_min")
    early_exit_min = serializers.IntegerField(source="status.early_exit_min")
    arrival = serializers.DateTimeField(source="status.arrival", allow_null=True)
    departure = serializers.DateTimeField(source="status.departure", allow_null=True)
    worked_h = serializers.FloatField(source="status.worked_h")
    overtime_s = serializers.FloatField(source="status.overtime_s")
    missing_check_out = serializers.BooleanField(source="status.missing_check_out")


REPORT_FILTERS = [
    OpenApiParameter("period", str, enum=list(reports.PERIODS), description="default month (or range with from/to)"),
    OpenApiParameter("day", OpenApiTypes.DATE, description="a day in the period (default today)"),
    OpenApiParameter("from", OpenApiTypes.DATE, description="first day of a range"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="last day of a range (inclusive)"),
    OpenApiParameter("group", int, description="only this group's members"),
    OpenApiParameter("person", int, description="only this person"),
]


class AttendanceReportViewSet(viewsets.GenericViewSet):
    """Statuses derived from events and schedules: operators get the people they manage, members themselves."""

    permission_classes = [IsAuthenticated]
    filter_backends: list = []
    serializer_class = ReportSerializer
    pagination_class = None  # the totals are one object; only `days` is paged (so the schema says)

    def report(self) -> reports.Report:
        refuse_blanks(self.request.query_params, [p.name for p in REPORT_FILTERS])
        try:
            query = reports.ReportQuery.from_params(self.request.query_params, today=timezone.localdate())
        except InvalidQuery as exc:
            raise ValidationError(exc.errors) from None
        return reports.build(self.request.user, query)

    @extend_schema(summary="Attendance totals per person and for the group", parameters=REPORT_FILTERS,
                   responses={200: ReportSerializer, 400: ERRORS[400], 401: ERRORS[401]})  # fmt: skip
    def list(self, request: Request) -> Response:
        return Response(ReportSerializer(self.report()).data)

    @extend_schema(summary="Each person's status for each day", parameters=REPORT_FILTERS,
                   description="One row per person and day, by name then day, paginated (?page=, ?page_size=).",
                   responses={200: ReportDaySerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]})  # fmt: skip
    @action(
        detail=False,
        methods=["get"],
        serializer_class=ReportDaySerializer,
        pagination_class=api_settings.DEFAULT_PAGINATION_CLASS,
    )
    def days(self, request: Request) -> Response:
        page = self.paginate_queryset(self.report().days)
        return self.get_paginated_response(ReportDaySerializer(page, many=True).data)


def register(router: BaseRouter) -> None:
    router.register("attendance", AttendanceEventViewSet, basename="attendance")
    router.register("attendance-reports", AttendanceReportViewSet, basename="attendance-report")
