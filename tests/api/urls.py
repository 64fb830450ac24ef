"""The project's URLs plus the two include lines the lead adds (so these tests do not wait for them)."""

from django.urls import include, path

from facesite.urls import urlpatterns as project_urls
from recognition import calibration_views

urlpatterns = [
    path("api/", include("facesite.api_urls")),
    path("recognition/calibration/", calibration_views.calibration_page, name="recognition-calibration"),
    *project_urls,
]
