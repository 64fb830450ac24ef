"""Attendance pages, included from facesite/urls.py as path("attendance/", include("attendance.urls"))."""

from django.urls import path

from attendance import views

app_name = "attendance"

urlpatterns = [
    path("", views.today, name="today"),
    path("history/", views.history, name="history"),
    path("export.csv", views.export_csv, name="export"),
    path("evidence/<int:pk>.jpg", views.evidence, name="evidence"),
    path("reports/", views.report, name="report"),
    path("reports.csv", views.report_download, {"fmt": "csv"}, name="report-csv"),
    path("reports.xlsx", views.report_download, {"fmt": "xlsx"}, name="report-xlsx"),
    path("corrections/", views.corrections, name="corrections"),
    path("board/", views.board, name="board"),
    path("groups/", views.groups, name="groups"),
    path("emotions/", views.emotions, name="emotions"),
]
