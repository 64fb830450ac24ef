"""A report as tables, and those tables as CSV or XLSX downloads (the same cells in both).

Two tables: totals (one row per person, then the group's or everyone's total) and days (one row per person and
day). Text cells that a spreadsheet would read as a formula are quoted, as in the events CSV.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.http import HttpResponse
from django.utils import timezone

from attendance.reports import Report, Totals
from attendance.responses import PRIVATE, csv_response
from attendance.selectors import spreadsheet_safe as _cell
from attendance.shift_rules import STATUS_LABELS

TOTALS_HEADER = ["person_id", "person", "scheduled_days", "present_days", "late_days", "late_min",
                 "early_exit_days", "early_exit_min", "half_days", "absent_days", "leave_days", "holidays",
                 "missing_check_outs", "worked_h", "overtime_h"]  # fmt: skip
DAYS_HEADER = ["date", "person_id", "person", "shift", "status", "late_min", "early_exit_min", "arrival",
               "departure", "worked_h", "overtime_h", "missing_check_out"]  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _totals_row(t: Totals) -> list:
    return [t.person_id or "", _cell(t.name), t.scheduled_days, t.present_days, t.late_days, t.late_min,
            t.early_exit_days, t.early_exit_min, t.half_days, t.absent_days, t.leave_days, t.holidays,
            t.missing_check_outs, t.worked_h, t.overtime_h]  # fmt: skip


def totals_rows(report: Report) -> Iterator[list]:
    yield TOTALS_HEADER
    for t in report.people:
        yield _totals_row(t)
    if report.people:
        yield _totals_row(report.total)


def _clock(value) -> str:
    return timezone.localtime(value).strftime("%H:%M") if value else ""


def days_rows(report: Report) -> Iterator[list]:
    yield DAYS_HEADER
    for row in report.days:
        s = row.status
        yield [s.day.isoformat(), row.person_id, _cell(row.person), _cell(row.shift), s.status.value, s.late_min,
               s.early_exit_min, _clock(s.arrival), _clock(s.departure), round(s.worked_s / 3600, 2),
               round(s.overtime_s / 3600, 2), "yes" if s.missing_check_out else ""]  # fmt: skip


def filename(report: Report, extension: str) -> str:
    name = f"attendance-report-{report.query.first:%Y%m%d}-{report.query.last:%Y%m%d}"
    return f"{name}.{extension}"


def csv_download(report: Report, table: str = "totals"):
    rows = days_rows(report) if table == "days" else totals_rows(report)
    return csv_response(rows, filename(report, "csv").replace(".csv", f"-{table}.csv"))


def xlsx_bytes(report: Report) -> bytes:
    """A workbook with Totals, Days and Groups sheets (write-only mode: rows stream, memory stays small)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    groups = [["group_id", "group", *TOTALS_HEADER[2:]], *(_totals_row(g) for g in report.groups)]
    for title, rows in (("Totals", totals_rows(report)), ("Days", days_rows(report)), ("Groups", groups)):
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    legend = book.create_sheet("Statuses")
    legend.append(["status", "meaning"])
    for status, label in STATUS_LABELS.items():
        legend.append([status.value, label])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_download(report: Report) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(report), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename(report, "xlsx")}"'
    response["Cache-Control"] = PRIVATE
    return response
