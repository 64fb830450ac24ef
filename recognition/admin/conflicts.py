"""Identity conflicts in the admin: merge the two people, confirm they differ, or dismiss."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recognition.admin.display import AdminMedia, face_thumb
from recognition.admin.recycle_bin import AuditHistoryMixin
from recognition.models import FaceImage, IdentityConflict


@admin.register(IdentityConflict)
class IdentityConflictAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """Faces that looked like someone else: staff merge the two people, confirm they are different (the pair is
    then never flagged again) or dismiss it. Refused images of a member go back to the workers after a merge or
    a confirmation, and are checked again."""

    list_display = ("conflict", "kind", "person", "other", "score_shown", "refused", "image_count", "batch_link",
                    "created_at", "resolution")  # fmt: skip
    list_filter = ("resolution", "kind", "refused")
    list_select_related = ("person", "other", "enrollment")
    search_fields = ("person__display_name", "other__display_name")
    fields = ("kind", "person", "other", "score_shown", "refused", "faces", "batch_link", "created_at",
              "resolution", "resolved_at", "resolved_by")  # fmt: skip
    readonly_fields = fields
    actions = ("merge_people", "confirm_different", "dismiss")
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a record of what happened; resolving it is the change

    @admin.display(description="conflict", ordering="pk")
    def conflict(self, conflict: IdentityConflict) -> str:
        return f"#{conflict.pk}"

    @admin.display(description="score", ordering="score")
    def score_shown(self, conflict: IdentityConflict) -> str:
        return f"{conflict.score:.3f}"

    @admin.display(description="images")
    def image_count(self, conflict: IdentityConflict) -> int:
        return len(conflict.images)

    @admin.display(description="batch")
    def batch_link(self, conflict: IdentityConflict) -> SafeString | str:
        if conflict.enrollment_id is None:
            return "-"
        return format_html('<a href="{}">#{}</a>', reverse("recognition:batch", args=[conflict.enrollment_id]),
                           conflict.enrollment_id)  # fmt: skip

    @admin.display(description="faces")
    def faces(self, conflict: IdentityConflict) -> SafeString | str:
        ids = list(FaceImage.objects.filter(pk__in=conflict.images).values_list("pk", flat=True)[:12])
        return format_html_join(" ", "{}", ((face_thumb(pk),) for pk in ids)) if ids else "-"

    def _resolve(self, request: HttpRequest, queryset: QuerySet, resolve, done: str) -> None:
        from recognition.services import integrity

        resolved = 0
        for conflict in queryset.filter(resolution=IdentityConflict.Resolution.OPEN).order_by("pk"):
            try:
                resolve(conflict, actor=request.user)
            except integrity.CannotResolve as exc:
                self.message_user(request, f"Conflict #{conflict.pk}: {exc}", messages.ERROR)
            else:
                resolved += 1
        if resolved:
            self.message_user(request, f"{resolved} conflict{'s' if resolved != 1 else ''} {done}.")

    @admin.action(description="Merge: they are one person", permissions=["change"])
    def merge_people(self, request: HttpRequest, queryset: QuerySet) -> None:
        from recognition.services.integrity import merge_conflict

        self._resolve(request, queryset, merge_conflict, "resolved by merging the two people")

    @admin.action(description="Confirm: they are two different people", permissions=["change"])
    def confirm_different(self, request: HttpRequest, queryset: QuerySet) -> None:
        from recognition.services.integrity import confirm_different

        self._resolve(request, queryset, confirm_different, "resolved: different people")

    @admin.action(description="Dismiss", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet) -> None:
        from recognition.services.integrity import dismiss

        self._resolve(request, queryset, dismiss, "dismissed")
