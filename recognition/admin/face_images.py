"""Face images in the admin: read-only records changed only through lifecycle actions."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recognition.admin.display import AdminMedia, face_thumb, objects_page
from recognition.admin.recycle_bin import RecycleBinDeleteMixin
from recognition.models import FaceEmbedding, FaceImage
from recognition.services import enrollment, lifecycle

Status = FaceImage.Status


@admin.register(FaceImage)
class FaceImageAdmin(RecycleBinDeleteMixin, admin.ModelAdmin):
    list_display = ("thumbnail", "person", "status", "quality_summary", "reject_reason", "batch_link",
                    "created_at")  # fmt: skip
    list_display_links = ("thumbnail", "person")
    list_filter = ("status", "source", ("person", admin.RelatedOnlyFieldListFilter))
    search_fields = ("person__display_name", "original_name", "sha256")
    list_select_related = ("person", "enrollment")
    list_per_page = 50
    fields = ("preview", "person", "status", "reject_reason", "quality_table", "face_box", "source",
              "original_name", "enrollment", "sha256", "embedding_models", "status_before_delete",
              "deleted_at",               "created_at", "processed_at")  # fmt: skip
    readonly_fields = fields
    actions = ("move_to_recycle_bin", "restore", "purge", "reprocess")
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # images come in through enrollment (upload page, API, sign-up, CLI)

    def has_change_permission(self, request: HttpRequest, obj: FaceImage | None = None) -> bool:
        # An image is changed only by the lifecycle (the actions), never by editing its fields.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="image")
    def thumbnail(self, image: FaceImage) -> SafeString:
        return face_thumb(image.pk, image.original_name)

    @admin.display(description="image")
    def preview(self, image: FaceImage) -> SafeString:
        url = reverse("recognition:face_image", args=[image.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">'
                           '<img src="{}" class="face-preview" alt="">'
                           "</a>", url, url)  # fmt: skip

    @admin.display(description="quality")
    def quality_summary(self, image: FaceImage) -> SafeString | str:
        q = image.quality or {}
        if not q:
            return "-"
        face_px, sharpness, yaw = (float(q.get(key, "nan")) for key in ("face_px", "sharpness", "yaw"))
        return format_html(
            '<span class="quality-line">face {} px</span><br><span class="quality-line">sharpness {}, yaw {}°'
            "</span>",
            f"{face_px:.0f}", f"{sharpness:.0f}", f"{yaw:.0f}",
        )  # fmt: skip

    @admin.display(description="quality figures")
    def quality_table(self, image: FaceImage) -> SafeString | str:
        if not image.quality:
            return "-"
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", sorted(image.quality.items()))
        return format_html('<table class="quality">{}</table>', rows)

    @admin.display(description="batch", ordering="enrollment")
    def batch_link(self, image: FaceImage) -> SafeString | str:
        if image.enrollment_id is None:
            return "-"
        return format_html('<a href="{}">#{}</a>', reverse("recognition:batch", args=[image.enrollment_id]),
                           image.enrollment_id)  # fmt: skip

    @admin.display(description="embeddings")
    def embedding_models(self, image: FaceImage) -> str:
        return ", ".join(image.embeddings.values_list("model_name", flat=True)) or "-"

    def delete_model(self, request: HttpRequest, obj: FaceImage) -> None:
        lifecycle.move_images_to_recycle_bin([obj], actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        lifecycle.move_images_to_recycle_bin(queryset, actor=request.user)

    @admin.action(description="Move to the recycle bin (out of search now, files kept)", permissions=["delete"])
    def move_to_recycle_bin(self, request: HttpRequest, queryset: QuerySet) -> None:
        moved = lifecycle.move_images_to_recycle_bin(queryset, actor=request.user)
        self.message_user(request, f"{moved} images moved to the recycle bin.")

    @admin.action(description="Restore from the recycle bin", permissions=["delete"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        restored = lifecycle.restore_images(queryset, actor=request.user)
        self.message_user(request, f"{restored} images restored.")

    @admin.action(description="Purge for good (files and embeddings)…", permissions=["delete"])
    def purge(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        if request.POST.get("post") == "yes":
            purged = lifecycle.purge_images(queryset, actor=request.user)
            self.message_user(request, f"{purged} images purged with their files and embeddings.")
            return None
        return objects_page(
            self, request, queryset.select_related("person"), "admin/recognition/purge_confirmation.html",
            "Purge face images for good?", "purge",
            image_count=queryset.count(),
            embedding_count=FaceEmbedding.objects.filter(face_image__in=queryset).count(),
        )  # fmt: skip

    @admin.action(description="Re-process (rejected or pending images)", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = enrollment.reprocess_images(queryset, actor=request.user)
        self.message_user(request, f"{count} images queued for processing again.")
