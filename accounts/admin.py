"""Consent records in the admin: read-only (they are evidence of what someone agreed to, and when)."""

from django.contrib import admin

from accounts.models import Consent


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "account_id", "version", "given_at", "withdrawn_at"]
    list_filter = ["version", ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email", "account_id"]
    readonly_fields = ["user", "account_id", "text", "version", "given_at", "withdrawn_at"]
    date_hierarchy = "given_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
