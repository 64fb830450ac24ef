"""Admin of the attendance log: read-only (events come from recognition), with the face crop for staff."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from attendance.models import AttendanceEvent


@admin.register(AttendanceEvent)
class AttendanceEventAdmin(admin.ModelAdmin):
    list_display = ["at", "day", "who", "kind", "source", "device", "score", "margin", "emotion", "crop"]
    list_filter = ["kind", "source", "device__location", "device", "day"]
    search_fields = ["person__display_name", "anonymous_key", "stream"]
    date_hierarchy = "at"
    list_select_related = ["person", "device__location"]
    readonly_fields = [f.name for f in AttendanceEvent._meta.fields if f.name != "evidence"] + ["crop"]
    exclude = ["evidence"]

    @admin.display(description="person", ordering="person__display_name")
    def who(self, event: AttendanceEvent) -> str:
        return event.person.display_name if event.person_id else f"(anonymised {event.anonymous_key})"

    @admin.display(description="face crop")
    def crop(self, event: AttendanceEvent) -> str:
        if not event.evidence:
            return "–"
        url = reverse("attendance:evidence", args=[event.pk])
        return format_html('<img src="{}" width="48" height="48" alt="face crop" style="object-fit:cover">', url)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
