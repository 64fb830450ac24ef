"""Admin of places and devices: live status per device, a kiosk's pairing code (shown once), revoking a kiosk,
and a camera's stream URL whose password is written but never shown back."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from devices import services
from devices.models import Device, Kind, Location, Status


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "devices"]
    search_fields = ["name"]

    @admin.display(description="devices")
    def devices(self, location: Location) -> int:
        return location.devices.count()


class DeviceForm(forms.ModelForm):
    stream_password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="stored encrypted, never shown; leave empty to keep the current one",
    )  # fmt: skip

    class Meta:
        model = Device
        fields = ["name", "location", "kind", "direction", "enabled", "require_liveness", "stream_url"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == Kind.KIOSK and data.get("stream_url"):
            self.add_error("stream_url", "a kiosk has no stream; it sends its own camera")
        return data

    def save(self, commit: bool = True) -> Device:
        device = super().save(commit=False)
        services.set_stream_url(device, self.cleaned_data.get("stream_url") or "",
                                password=self.cleaned_data.get("stream_password") or None)  # fmt: skip
        if commit:
            device.save()
        return device


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceForm
    list_display = ["name", "location", "kind", "direction", "enabled", "live_status", "last_seen", "fps",
                    "last_frame_at", "last_error", "lease_owner"]  # fmt: skip
    list_filter = ["kind", "status", "enabled", "location"]
    search_fields = ["name", "location__name"]
    list_select_related = ["location"]
    readonly_fields = ["status", "last_seen", "fps", "last_frame_at", "last_error", "paired_at", "lease_owner",
                       "lease_expires_at", "has_password"]  # fmt: skip
    actions = ["new_pairing_code", "revoke_credential"]

    @admin.display(description="status", ordering="status")
    def live_status(self, device: Device) -> str:
        colour = {Status.ONLINE: "#1e8e3e", Status.ERROR: "#c5221f", Status.OFFLINE: "#80868b"}.get(device.status)
        return format_html('<b style="color:{}">{}</b>', colour or "inherit", device.get_status_display())

    @admin.display(description="stream password")
    def has_password(self, device: Device) -> str:
        return "stored (encrypted)" if device.stream_secret else "none"

    @admin.action(description="New pairing code (kiosks)")
    def new_pairing_code(self, request, queryset) -> None:
        for device in queryset.filter(kind=Kind.KIOSK):
            code = services.start_pairing(device)
            link = request.build_absolute_uri(reverse("kiosk") + f"?code={code}")
            until = timezone.localtime(device.pairing_expires_at).strftime("%H:%M")
            self.message_user(request, format_html(
                "{}: pairing code <b>{}</b> (or open {} on the tablet), valid once until {}.",
                device.name, code, link, until,
            ), messages.SUCCESS)  # fmt: skip
        if queryset.exclude(kind=Kind.KIOSK).exists():
            self.message_user(request, "Cameras do not pair; they were skipped.", messages.WARNING)

    @admin.action(description="Revoke the kiosk's credential")
    def revoke_credential(self, request, queryset) -> None:
        for device in queryset.filter(kind=Kind.KIOSK):
            services.revoke_credential(device)
        self.message_user(request, "Revoked: those kiosks stop at once and must be paired again.")
