"""The OpenAPI schema of every API view: drf-spectacular's, plus each error an operation can really answer, all in
the one JSON shape of recognition/api/errors.py. A client (and schemathesis in the tests) then knows every status
it may get, and an error documented by description alone still gets its body's schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from recognition.api.serializers import ErrorSerializer

BODY_METHODS = ("POST", "PUT", "PATCH")
JSON = ["application/json"]


class AutoSchema(SpectacularAutoSchema):
    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> tuple[Any, bool]:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # A schema written by hand (identify's raw image, verify's two forms) is what the operation needs: an
        # empty body is not valid (drf-spectacular marks hand-written bodies optional).
        return schema, required or isinstance(serializer, dict)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, description in self.possible_errors().items():
            if str(code) not in responses:
                error = OpenApiResponse(ErrorSerializer, description=description)
                responses[str(code)] = self._get_response_for_code(error, str(code), JSON, direction)
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                response["content"] = self._get_response_for_code(ErrorSerializer, code, JSON, direction)["content"]
        return responses

    def possible_errors(self) -> dict[int, str]:
        """The statuses the framework itself may answer for this operation, whatever the view adds."""
        has_body = self.method in BODY_METHODS and self._get_request_body() is not None
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        errors: dict[int, str] = {}
        if has_body or has_query:
            errors[400] = "a field or parameter that cannot be read"
        if self.view.authentication_classes:
            errors[401] = "no credentials, or credentials that are not valid (send `Authorization: Token ...`)"
        if not all(issubclass(p, AllowAny) for p in self.view.permission_classes):
            errors[403] = "not allowed for this account"
        if "{" in self.path or (self._is_list_view() and self._get_paginator() is not None):
            errors[404] = "no such object, or a page past the last one"
        if has_body:
            errors[413] = "a body larger than the server takes"
            errors[415] = "a Content-Type this operation does not read"
        if self.view.throttle_classes:
            errors[429] = "too many requests: wait as the Retry-After header says"
        return errors
