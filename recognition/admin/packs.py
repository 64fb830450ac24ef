"""Model packs in the admin: the match policy per pack, re-embedding, and the embeddings each made."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from recognition import selectors
from recognition.admin.display import AdminMedia, face_thumb
from recognition.domain.pack import pack_model_name
from recognition.models import FaceEmbedding, PackSettings
from recognition.services.match_policy import PolicyChange, set_match_policy


@admin.register(FaceEmbedding)
class FaceEmbeddingAdmin(admin.ModelAdmin):
    list_display = ("pk", "person", "model_name", "model_version", "image", "created_at")
    list_filter = ("model_name",)
    search_fields = ("person__display_name",)
    list_select_related = ("person",)
    fields = ("face_image", "person", "model_name", "model_version", "dimensions", "created_at")
    readonly_fields = fields
    change_list_template = "admin/recognition/faceembedding/change_list.html"
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # an embedding leaves with its image (recycle bin, purge)

    @admin.display(description="image")
    def image(self, embedding: FaceEmbedding) -> SafeString:
        return face_thumb(embedding.face_image_id, size=36)

    @admin.display(description="dimensions")
    def dimensions(self, embedding: FaceEmbedding) -> int:
        return len(embedding.vector)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        counts = selectors.embedding_counts()
        return super().changelist_view(request, {**(extra_context or {}), "model_counts": counts})


def start_reembed(request: HttpRequest, pack: str) -> tuple[str, int]:
    """Start re-embedding the gallery with `pack`; a message for the admin and its level."""
    try:
        from recognition.services.reembed import start_reembed as start  # a separate module; may be absent
    except ImportError:
        return "Re-embedding is not available: recognition.services.reembed is not installed.", messages.ERROR
    try:
        job = start(pack, started_by=request.user)
    except ValueError as exc:  # unknown pack, no match settings for it, ...
        return f"Re-embedding with the {pack} pack was not started: {exc}", messages.ERROR
    if all(hasattr(job, name) for name in ("embedded", "total", "model_name")):
        job = f"{job.embedded} of {job.total} images already have {job.model_name} embeddings"
    return f"Re-embedding the gallery with the {pack} pack has started ({job}).", messages.SUCCESS


@admin.register(PackSettings)
class PackSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "pack",
        "threshold",
        "margin",
        "is_active",
        "gallery_embeddings",
        "updated_at",
        "updated_by",
    )
    readonly_fields = ("is_active", "updated_at", "updated_by", "gallery_embeddings")
    fields = ("pack", "threshold", "margin", "is_active", "gallery_embeddings", "updated_at", "updated_by")
    actions = ("reembed",)
    change_list_template = "admin/recognition/packsettings/change_list.html"
    Media = AdminMedia

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        # The active pack switches only when a re-embedding has finished (the re-embed service does it).
        fields = self.readonly_fields + (("pack",) if obj else ())
        if not request.user.has_perm("recognition.change_threshold"):
            fields += ("threshold", "margin")  # who is recognised changes for everyone: its own permission
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and request.user.has_perm("recognition.change_threshold")

    @admin.display(description="embeddings of its embedder")
    def gallery_embeddings(self, settings_row: PackSettings) -> int | str:
        try:
            return FaceEmbedding.objects.filter(model_name=pack_model_name(settings_row.pack)).count()
        except ValueError:  # a pack this version does not know
            return "-"

    def save_model(self, request: HttpRequest, obj: PackSettings, form, change: bool) -> None:
        # The one writer of the match policy, audited there as for calibration and re-embedding.
        row = set_match_policy(obj.pack, via=PolicyChange.ADMIN, threshold=obj.threshold, margin=obj.margin,
                               user=request.user)  # fmt: skip
        obj.pk, obj.updated_at, obj.updated_by = row.pk, row.updated_at, row.updated_by

    @admin.action(description="Re-embed the gallery with the selected pack", permissions=["change"])
    def reembed(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one pack to re-embed with.", messages.ERROR)
            return
        self._reembed(request, queryset.get().pack)

    def _reembed(self, request: HttpRequest, pack: str) -> None:
        self.message_user(request, *start_reembed(request, pack))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(require_POST(self.reembed_view))
        return [
            path("reembed/<str:pack>/", view, name="recognition_packsettings_reembed"),
            *super().get_urls(),
        ]

    def reembed_view(self, request: HttpRequest, pack: str) -> HttpResponse:
        from recognition.engine.model_store import PACKS

        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        if pack not in PACKS:
            self.message_user(request, f"Unknown pack {pack!r}.", messages.ERROR)
        else:
            self._reembed(request, pack)
        return redirect("admin:recognition_packsettings_changelist")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        from recognition.engine.model_store import PACKS

        extra = {"packs": sorted(PACKS), "can_reembed": self.has_change_permission(request)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})
