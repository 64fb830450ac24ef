"""Consent records in the admin: read-only (they are evidence of what someone agreed to, and when)."""

from django.contrib import admin

from accounts.models import Consent


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "version", "given_at", "withdrawn_at"]
    list_filter = ["version", ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", "text", "version", "given_at", "withdrawn_at"]
    date_hierarchy = "given_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
