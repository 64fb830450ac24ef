"""/api/v1/webhooks/ (subscriptions: staff only, with the model permissions the admin asks for) and
/api/v1/webhook-deliveries/ (the delivery log; POST .../resend/ sends one again). The secret is write-only: the
client chooses it and keeps it, the API never shows it back.

Registered on the project's router in facesite/api_urls.py with `integrations_api.register(router)`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from integrations import webhooks
from integrations.events import EventType
from integrations.models import Delivery, WebhookSubscription, webhook_url_validator
from recognition.api.permissions import IsStaff
from recognition.api.serializers import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="invalid input, e.g. a URL that is not http(s)"),
    401: OpenApiResponse(ErrorSerializer, description="no credentials"),
    403: OpenApiResponse(ErrorSerializer, description="only staff with the webhook permissions"),
    404: OpenApiResponse(ErrorSerializer, description="no such object"),
}


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(
        write_only=True, min_length=16, max_length=200, trim_whitespace=False, required=False,
        help_text="signs every delivery (HMAC-SHA256); required when creating, never returned",
    )  # fmt: skip
    # Declared: DRF leaves out a model URLField's URLValidator, which is what refuses ftp: and friends here.
    url = serializers.URLField(max_length=500, validators=[webhook_url_validator])
    event_types = serializers.MultipleChoiceField(choices=EventType.choices, allow_empty=False)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "secret", "event_types", "enabled", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_event_types(self, value) -> list[str]:
        return sorted(value)

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and not attrs.get("secret"):
            raise serializers.ValidationError({"secret": "A secret of at least 16 characters is required."})
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["event_types"] = sorted(data["event_types"])
        return data


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "subscription", "event_id", "event_type", "status", "attempts", "last_error",
                  "last_status_code", "next_attempt_at", "delivered_at", "created_at", "payload"]  # fmt: skip
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Webhook subscriptions", responses={200: WebhookSubscriptionSerializer(many=True),
                                                                   **ERRORS}),
    retrieve=extend_schema(summary="One webhook subscription", responses={200: WebhookSubscriptionSerializer,
                                                                          **ERRORS}),
    create=extend_schema(summary="Subscribe a URL to events", responses={201: WebhookSubscriptionSerializer,
                                                                         **ERRORS}),
    update=extend_schema(summary="Change a subscription", responses={200: WebhookSubscriptionSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Change part of a subscription",
                                 responses={200: WebhookSubscriptionSerializer, **ERRORS}),
    destroy=extend_schema(summary="Delete a subscription and its deliveries", responses={204: None, **ERRORS}),
)  # fmt: skip
class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """URLs are called from the server: only staff may create them (see the README's SSRF note)."""

    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [IsStaff]
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    def perform_create(self, serializer) -> None:
        serializer.save(created_by=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Webhook deliveries", description="Newest first; ?subscription=, ?status=, "
                       "?event_type= filter.", responses={200: DeliverySerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="One webhook delivery", responses={200: DeliverySerializer, **ERRORS}),
)  # fmt: skip
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Delivery.objects.all()
    serializer_class = DeliverySerializer
    permission_classes = [IsStaff]
    filterset_fields = ["subscription", "status", "event_type"]
    ordering_fields = ["created_at", "next_attempt_at"]
    lookup_value_regex = r"[0-9]+"
    staff_permissions = {"list": ["integrations.view_delivery"], "retrieve": ["integrations.view_delivery"],
                         "resend": ["integrations.change_delivery"]}  # fmt: skip

    @extend_schema(summary="Send a delivery again", request=None, responses={202: DeliverySerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk=None) -> Response:
        delivery = self.get_object()
        webhooks.resend(Delivery.objects.filter(pk=delivery.pk))
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=202)


def register(router: BaseRouter) -> None:
    router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
    router.register("webhook-deliveries", DeliveryViewSet, basename="webhook-delivery")
