"""Attendance pages, included from facesite/urls.py as path("attendance/", include("attendance.urls"))."""

from django.urls import path

from attendance import views

app_name = "attendance"

urlpatterns = [
    path("", views.today, name="today"),
    path("history/", views.history, name="history"),
    path("export.csv", views.export_csv, name="export"),
    path("evidence/<int:pk>.jpg", views.evidence, name="evidence"),
]
