"""The REST API (DRF) and its OpenAPI schema (drf-spectacular): authentication, paging, errors, rate limits."""

from facesite.settings.paths import env
from facesite.settings.security import TRUSTED_PROXY_COUNT

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Token first: an anonymous API call gets 401 with `WWW-Authenticate: Token` (session-first gives 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PAGINATION_CLASS": "recognition.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "recognition.api.schema.AutoSchema",  # every error documented, in one shape
    "EXCEPTION_HANDLER": "recognition.api.errors.exception_handler",
    # API rate limits per client (DRF throttles, counted in each server process's cache): anonymous callers by
    # address, users by account, and identify/verify (scope "recognition") on top of the user's rate.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_RATE_ANON", default="300/minute"),
        "user": env("API_RATE_USER", default="6000/minute"),
        "recognition": env("API_RATE_RECOGNITION", default="3000/minute"),
        "auth": env("API_RATE_AUTH", default="10/minute"),  # POST /api/v1/auth/token/, per address
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # 0: the address is REMOTE_ADDR, never a client's X-Forwarded-For
}
SPECTACULAR_SETTINGS = {
    "TITLE": "facesite API",
    "DESCRIPTION": "Face recognition: people, enrollment, identify and verify. Authenticate with a session or "
    "`Authorization: Token <key>` (POST /api/v1/auth/token/ with username and password).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,  # file fields show as uploads in the request bodies
    "SWAGGER_UI_DIST": "SIDECAR",  # served from drf-spectacular-sidecar: the docs page works offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The OpenAPI schema and its docs pages are public on purpose: they describe the API and hold no data.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "ENUM_NAME_OVERRIDES": {
        # One name for the event types (a webhook subscription's list and a delivery's type share them).
        "WebhookEventTypeEnum": "integrations.events.EventType",
        # A device's kind and an attendance event's kind are both "kind": name the device's enum.
        "DeviceKindEnum": "devices.models.Kind",
    },
}
API_MAX_IMAGE_BYTES = env.int("API_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)  # one picture to identify/verify
# Pixels of one API picture, checked from its header before decoding: a few KB of PNG can announce 40 MP (about
# 1 GB decoded, converted and analysed). 12 MP is a 4000x3000 phone photo.
API_MAX_IMAGE_PIXELS = env.int("API_MAX_IMAGE_PIXELS", default=12_000_000)
