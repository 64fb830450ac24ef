"""/api/v1/ routes of the identity domain (registered on the project's API router in facesite/api_urls.py)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import BaseRouter

from recognition.api import views


def register(router: BaseRouter) -> None:
    router.register("persons", views.PersonViewSet, basename="person")
    router.register("enrollments", views.EnrollmentViewSet, basename="enrollment")


urlpatterns = [
    path("identify/", views.IdentifyView.as_view(), name="identify"),
    path("verify/", views.VerifyView.as_view(), name="verify"),
]
