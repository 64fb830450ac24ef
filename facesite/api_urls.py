"""The REST API: /api/v1/ (one router for every app), the OpenAPI schema at /api/schema/ and its docs at
/api/docs/ (Swagger UI, served from drf-spectacular-sidecar: no CDN needed). Included from facesite/urls.py as
    path("api/", include("facesite.api_urls")),
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import APIRootView, DefaultRouter
from rest_framework.throttling import ScopedRateThrottle

from attendance import api as attendance_api
from devices import api as devices_api
from integrations import api as integrations_api
from recognition.api import urls as recognition_api


class TokenView(ObtainAuthToken):
    """DRF's token view sets no throttle at all; this one takes API_RATE_AUTH per address (password guessing
    through the API also counts toward the login lockouts: it authenticates with the request)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class ApiRootView(APIRootView):
    permission_classes = [IsAuthenticated]  # explicit, not the default: the index is for signed-in clients


class Router(DefaultRouter):
    APIRootView = ApiRootView


router = Router()
recognition_api.register(router)  # persons, enrollments
attendance_api.register(router)  # /api/v1/attendance/: events, summaries/, export/ (CSV)
integrations_api.register(router)  # /api/v1/webhooks/, /api/v1/webhook-deliveries/
devices_api.register(router)  # /api/v1/locations/, /api/v1/devices/ (pairing/, revoke/)


@csrf_exempt  # a POST to an unknown path is a JSON 404 too, not Django's HTML "CSRF verification failed" page
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape, not with an HTML page."""
    message = f"No API endpoint at {request.path}; see /api/docs/."
    return JsonResponse({"error": "not_found", "message": message, "status": 404}, status=404)


v1 = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *recognition_api.urlpatterns,
    path("", include(router.urls)),
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"^.*$", not_found),
]
