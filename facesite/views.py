from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from facesite.health import platform_status


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous visitors: what the site is. Logged in: the dashboard of their role (attendance/dashboard.py)."""
    if not (request.user.is_authenticated and request.user.is_active):
        return render(request, "facesite/home.html")
    from attendance.views import dashboard_context

    return render(request, "facesite/dashboard.html", dashboard_context(request))


def healthz(request: HttpRequest) -> JsonResponse:
    status = platform_status()
    return JsonResponse(status, status=200 if status["database"]["ok"] else 503)
