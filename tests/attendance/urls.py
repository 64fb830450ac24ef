"""The project's URLs plus the include lines the lead adds for attendance (so the tests need not wait)."""

from django.urls import include, path

from facesite.urls import urlpatterns as project_urls

_routed = {str(p.pattern) for p in project_urls}

urlpatterns = [
    *([] if "api/" in _routed else [path("api/", include("facesite.api_urls"))]),
    *([] if "attendance/" in _routed else [path("attendance/", include("attendance.urls"))]),
    *project_urls,
]
