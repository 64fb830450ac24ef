"""Deleting in the admin moves to the recycle bin. Every move is recorded once, by the service that makes it, in
the audit log; an object's admin History page shows those entries (AuditHistoryMixin), so the admin keeps no
second trail of its own."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from audit.selectors import entries_about


class AuditHistoryMixin:
    """An object's History page lists what the audit log holds about it (recycle bin, purge, merge, approval,
    conflicts...), beside Django's own record of edits made in its forms."""

    object_history_template = "admin/recognition/object_history.html"

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None):
        obj = self.get_object(request, object_id)
        entries = entries_about(obj) if obj is not None else []
        return super().history_view(request, object_id, {**(extra_context or {}), "audit_entries": entries})


class RecycleBinDeleteMixin(AuditHistoryMixin):
    """The admin's own delete (the change form's Delete button, any bulk delete) moves to the recycle bin."""

    delete_confirmation_template = "admin/recognition/recycle_bin_confirmation.html"

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "move to recycle bin" and "purge" say what they do
        return actions

    def log_deletions(self, request: HttpRequest, queryset) -> None:
        """Nothing here: the move to the recycle bin was audited by the service that made it."""

    def get_deleted_objects(self, objs, request: HttpRequest):
        # Nothing is deleted: list only the objects themselves, and ask for no permission on related models.
        objs = list(objs)
        return [str(obj) for obj in objs], {self.model._meta.verbose_name_plural: len(objs)}, set(), []

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id) -> HttpResponse:
        self.message_user(request, f"“{obj_display}” was moved to the recycle bin (files kept; purge removes them).")
        return HttpResponseRedirect(reverse(f"admin:recognition_{self.model._meta.model_name}_changelist"))


class RecycleBinFilter(admin.SimpleListFilter):
    title = "recycle bin"
    parameter_name = "bin"

    def lookups(self, request, model_admin):
        return [("no", "not in the recycle bin"), ("yes", "in the recycle bin")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset
