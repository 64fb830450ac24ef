"""Every API error as JSON: {"error": code, "message": text, "status": n[, "fields": {...}]}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from recognition.domain.pack import ModelVersionMismatch


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class UnsupportedImageType(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "Unsupported file type; send a JPEG, PNG, BMP, WEBP, TIFF or GIF image."
    default_code = "unsupported_media_type"


class InvalidImageError(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The image cannot be decoded."
    default_code = "invalid_image"


class GalleryNotComparable(exceptions.APIException):
    """The gallery's embeddings are of another model version than the running weights (ModelVersionMismatch)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The gallery must be re-embedded with the current model version before it can be searched."
    default_code = "gallery_needs_reembedding"


class NoFace(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "No face found in the image."
    default_code = "no_face"


def _message(detail: Any) -> str:
    """The first readable message in a DRF error detail (string, list or dict)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _message(value)
            return text if key in ("detail", "non_field_errors") else f"{key}: {text}"
        return "Invalid request."
    if isinstance(detail, list):
        return _message(detail[0]) if detail else "Invalid request."
    return str(detail)


def _code(exc: exceptions.APIException, detail: Any) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else getattr(exc, "default_code", "error")


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler (which also maps Http404 and PermissionDenied), then one JSON shape for every error."""
    if isinstance(exc, RequestDataTooBig):  # Django's body limit, met while DRF parses: an HTML 400 otherwise
        from django.conf import settings

        exc = PayloadTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(exc, ModelVersionMismatch):  # weights changed under the same name: nothing comparable yet
        exc = GalleryNotComparable(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: a 500, logged by Django
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.APIException):
        code = _code(exc, detail)
    elif response.status_code == 404:
        code = "not_found"
    else:
        code = "permission_denied" if response.status_code == 403 else "error"
    body: dict[str, Any] = {"error": code, "message": _message(detail), "status": response.status_code}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        body["fields"] = detail
    response.data = body
    _as_json(context.get("request"))
    return response


def _as_json(request: Any) -> None:
    """Errors are JSON whatever was negotiated: a CSV export or a JPEG crop that fails answers the error as JSON,
    not as JSON text labelled text/csv or image/jpeg (APIView.finalize_response takes the request's renderer)."""
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a failure under /api/ answers the one JSON shape (Django has logged the traceback already);
    pages keep Django's 500 page (templates/500.html)."""
    if request.path.startswith("/api/"):
        message = "The server failed on this request; the error is logged."
        return JsonResponse({"error": "server_error", "message": message, "status": 500}, status=500)
    return defaults.server_error(request)
