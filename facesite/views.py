from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from facesite.health import platform_status


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "facesite/home.html")


def healthz(request: HttpRequest) -> JsonResponse:
    status = platform_status()
    return JsonResponse(status, status=200 if status["database"]["ok"] else 503)
