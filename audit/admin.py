"""The audit log in the admin: read-only, and only for admins who may view it (superusers, or staff given
audit.view_auditentry). Nobody may add, change or delete an entry here (nor anywhere else)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "target_type", "target_id", "target_label"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_name", "target_label", "target_id"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    actions = None  # no bulk delete

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm("audit.view_auditentry"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
