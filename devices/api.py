"""/api/v1/locations/ and /api/v1/devices/: places and their kiosks and cameras, for staff with the model
permissions (the same as the admin's). A device's secrets are write-only: the stream password goes in (in the
URL or as `stream_password`) and never comes back; a kiosk's pairing code is answered once, by POST
/devices/{id}/pairing/.

Registered on the project's router in facesite/api_urls.py with `devices_api.register(router)`.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import DjangoModelPermissions, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from devices import services
from devices.models import Device, Kind, Location


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "time_zone"]


class DeviceSerializer(serializers.ModelSerializer):
    """What a device is and how it is doing; the answer of every device operation."""

    location_name = serializers.CharField(source="location.name", read_only=True)
    paired = serializers.SerializerMethodField(help_text="a kiosk holds a working credential")
    has_stream_password = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = ["id", "name", "location", "location_name", "kind", "direction", "enabled", "require_liveness",
                  "status", "last_seen", "stream_url", "has_stream_password", "fps", "last_frame_at", "last_error",
                  "paired", "created_at"]  # fmt: skip
        read_only_fields = fields

    def get_paired(self, device: Device) -> bool:
        return bool(device.credential_hash)

    def get_has_stream_password(self, device: Device) -> bool:
        return bool(device.stream_secret)


class DeviceInputSerializer(serializers.ModelSerializer):
    stream_url = serializers.CharField(
        required=False, allow_blank=True, max_length=500,
        help_text="rtsp://user:password@host/path, http(s):// MJPEG, or a file",
    )  # fmt: skip
    stream_password = serializers.CharField(
        required=False, allow_blank=True, write_only=True,
        help_text="instead of a password in the URL; stored encrypted",
    )  # fmt: skip

    class Meta:
        model = Device
        fields = ["name", "location", "kind", "direction", "enabled", "require_liveness", "stream_url",
                  "stream_password"]

    def validate(self, data: dict) -> dict:
        kind = data.get("kind", self.instance.kind if self.instance else None)
        if kind == Kind.KIOSK and data.get("stream_url"):
            raise serializers.ValidationError({"stream_url": ["a kiosk has no stream; it sends its camera"]})
        return data

    def save(self, **kwargs) -> Device:
        data = dict(self.validated_data)
        url, password = data.pop("stream_url", None), data.pop("stream_password", None)
        device = self.instance or Device()
        for field, value in data.items():
            setattr(device, field, value)
        if url is not None or password is not None:
            services.set_stream_url(device, url if url is not None else device.stream_url, password=password)
        device.save()
        self.instance = device
        return device


class PairingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="type it on the tablet at /kiosk/, or open `link` there; once only")
    link = serializers.CharField()
    expires_at = serializers.DateTimeField()


ERRORS = {
    400: OpenApiResponse(description="invalid fields"),
    401: OpenApiResponse(description="no credentials"),
    403: OpenApiResponse(description="not staff, or without the model permission"),
    404: OpenApiResponse(description="no such record"),
}


class StaffPermissions(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


@extend_schema_view(
    list=extend_schema(summary="Locations", responses={200: LocationSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="One location", responses={200: LocationSerializer, **ERRORS}),
    create=extend_schema(summary="Add a location", responses={201: LocationSerializer, **ERRORS}),
    update=extend_schema(summary="Change a location", responses={200: LocationSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Change a location", responses={200: LocationSerializer, **ERRORS}),
    destroy=extend_schema(summary="Remove a location (400 while it has devices)", responses={204: None, **ERRORS}),
)  # fmt: skip
class LocationViewSet(viewsets.ModelViewSet):
    queryset = Location.objects.all()
    serializer_class = LocationSerializer
    permission_classes = [IsAdminUser, StaffPermissions]

    def perform_destroy(self, instance: Location) -> None:
        if instance.devices.exists():
            raise ValidationError({"location": ["it still has devices; move or remove them first"]})
        instance.delete()


@extend_schema_view(
    list=extend_schema(summary="Devices, with their live status",
                       responses={200: DeviceSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="One device", responses={200: DeviceSerializer, **ERRORS}),
    create=extend_schema(summary="Register a kiosk or camera", request=DeviceInputSerializer,
                         responses={201: DeviceSerializer, **ERRORS}),
    update=extend_schema(summary="Change a device", request=DeviceInputSerializer,
                         responses={200: DeviceSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Change a device", request=DeviceInputSerializer,
                                 responses={200: DeviceSerializer, **ERRORS}),
    destroy=extend_schema(summary="Remove a device (its events keep their times, without the device)",
                          responses={204: None, **ERRORS}),
)  # fmt: skip
class DeviceViewSet(viewsets.ModelViewSet):
    queryset = Device.objects.select_related("location")
    serializer_class = DeviceSerializer
    permission_classes = [IsAdminUser, StaffPermissions]
    filterset_fields = ["kind", "location", "enabled", "status"]
    search_fields = ["name", "location__name"]

    def create(self, request: Request, *args, **kwargs) -> Response:
        given = DeviceInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        device = given.save()
        return Response(DeviceSerializer(device).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        given = DeviceInputSerializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        given.is_valid(raise_exception=True)
        return Response(DeviceSerializer(given.save()).data)

    @extend_schema(summary="A one-time pairing code for a kiosk", request=None,
                   responses={201: PairingSerializer, **ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def pairing(self, request: Request, pk=None) -> Response:
        device = self.get_object()
        if device.kind != Kind.KIOSK:
            return Response({"error": "not_a_kiosk", "message": "only kiosks pair", "status": 400}, status=400)
        code = services.start_pairing(device)
        link = request.build_absolute_uri(reverse("kiosk") + f"?code={code}")
        return Response(PairingSerializer({"code": code, "link": link, "expires_at": device.pairing_expires_at}).data,
                        status=status.HTTP_201_CREATED)  # fmt: skip

    @extend_schema(summary="Revoke a kiosk's credential", request=None, responses={200: DeviceSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk=None) -> Response:
        device = self.get_object()
        services.revoke_credential(device)
        return Response(DeviceSerializer(device).data)


def register(router: BaseRouter) -> None:
    router.register("locations", LocationViewSet, basename="location")
    router.register("devices", DeviceViewSet, basename="device")
