"""Admin of the attendance log: read-only (events come from recognition), with the face crop for staff."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from attendance.models import (
    AttendanceEvent,
    AttendanceGroup,
    Correction,
    Holiday,
    HolidayList,
    Leave,
    ShiftAssignment,
    ShiftType,
    UnknownFace,
)


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


# --- groups and schedules (issue 17): staff set them up here; operators use the attendance pages ------------
@admin.register(AttendanceGroup)
class AttendanceGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "member_count"]
    list_filter = ["kind"]
    search_fields = ["name", "members__display_name"]
    filter_horizontal = ["members", "supervisors"]

    @admin.display(description="members")
    def member_count(self, group: AttendanceGroup) -> int:
        return group.members.count()


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 3


@admin.register(HolidayList)
class HolidayListAdmin(admin.ModelAdmin):
    inlines = [HolidayInline]


@admin.register(ShiftType)
class ShiftTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "start", "end", "time_zone", "late_grace_min", "early_exit_grace_min", "holiday_list"]


class ShiftAssignmentForm(forms.ModelForm):
    days = forms.MultipleChoiceField(
        choices=list(enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])),
        widget=forms.CheckboxSelectMultiple, required=True, label="weekdays",
    )  # fmt: skip

    class Meta:
        model = ShiftAssignment
        fields = ["shift", "group", "person", "first_day", "last_day"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = [str(d) for d in sorted(self.instance.weekday_set())]

    def clean(self) -> dict:
        cleaned = super().clean()
        if bool(cleaned.get("group")) == bool(cleaned.get("person")):
            raise forms.ValidationError("assign the shift to a group or to a person (one of them)")
        return cleaned

    def save(self, commit: bool = True) -> ShiftAssignment:
        self.instance.weekdays = sum(1 << int(d) for d in self.cleaned_data["days"])
        return super().save(commit)


@admin.register(ShiftAssignment)
class ShiftAssignmentAdmin(admin.ModelAdmin):
    form = ShiftAssignmentForm
    list_display = ["shift", "group", "person", "first_day", "last_day"]
    list_filter = ["shift", "group"]
    autocomplete_fields = ["person"]


@admin.register(Leave)
class LeaveAdmin(admin.ModelAdmin):
    list_display = ["person", "first_day", "last_day", "reason", "entered_by"]
    autocomplete_fields = ["person"]
    readonly_fields = ["entered_by"]


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    """Read-only: corrections are made and decided on the corrections page (audited there)."""

    list_display = ["person", "kind", "at", "event", "state", "reason", "decided_by"]
    list_filter = ["state", "kind"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UnknownFace)
class UnknownFaceAdmin(admin.ModelAdmin):
    """Faces no one matched, as the streams reported them: read-only (no image is ever kept)."""

    list_display = ["first_seen_at", "seen_s", "source", "device", "nearest_score", "stream"]
    list_filter = ["day", "source", "device"]
    date_hierarchy = "first_seen_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
