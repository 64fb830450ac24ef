"""Deleting in the admin moves to the recycle bin; every move is written to the object's admin history."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


def history(request: HttpRequest, objects, flag: int, message: str) -> None:
    """An entry in each object's admin history: who moved biometric data where, and when."""
    LogEntry.objects.log_actions(user_id=request.user.pk, queryset=list(objects), action_flag=flag,
                                 change_message=message)  # fmt: skip


class RecycleBinDeleteMixin:
    """The admin's own delete (the change form's Delete button, any bulk delete) moves to the recycle bin."""

    delete_confirmation_template = "admin/recognition/recycle_bin_confirmation.html"

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "move to recycle bin" and "purge" say what they do
        return actions

    def log_deletions(self, request: HttpRequest, queryset) -> None:
        history(request, queryset, CHANGE, "Moved to the recycle bin.")

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
