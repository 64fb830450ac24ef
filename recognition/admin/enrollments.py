"""Enrollment batches in the admin: a record of what each upload did, with its progress."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recognition import selectors
from recognition.admin.display import AdminMedia, progress_bar
from recognition.models import Enrollment


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("batch", "state", "started_by", "progress", "n_enrolled", "n_rejected", "n_pending",
                    "refused", "created_at")  # fmt: skip
    list_filter = ("state", "source")
    search_fields = ("started_by__username",)
    list_select_related = ("started_by",)
    fields = ("live_page", "source", "state", "started_by", "progress", "counts", "duplicates", "error_table",
              "created_at", "finished_at")  # fmt: skip
    readonly_fields = fields
    change_list_template = "admin/recognition/enrollment/change_list.html"
    Media = AdminMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.with_image_counts(super().get_queryset(request))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        return redirect("recognition:upload")  # a batch is started by uploading images

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a batch is a record of what happened

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="batch", ordering="pk")
    def batch(self, enrollment: Enrollment) -> str:
        return f"#{enrollment.pk}"

    @admin.display(description="progress")
    def progress(self, enrollment: Enrollment) -> SafeString:
        return progress_bar(enrollment.n_total - enrollment.n_pending, enrollment.n_total)

    @admin.display(description="enrolled", ordering="n_enrolled")
    def n_enrolled(self, enrollment: Enrollment) -> int:
        return enrollment.n_enrolled

    @admin.display(description="rejected", ordering="n_rejected")
    def n_rejected(self, enrollment: Enrollment) -> SafeString | int:
        if not enrollment.n_rejected:
            return 0
        url = reverse("admin:recognition_faceimage_changelist")
        return format_html('<a href="{}?enrollment__id__exact={}&status__exact=rejected">{}</a>', url,
                           enrollment.pk, enrollment.n_rejected)  # fmt: skip

    @admin.display(description="pending", ordering="n_pending")
    def n_pending(self, enrollment: Enrollment) -> int:
        return enrollment.n_pending

    @admin.display(description="refused files")
    def refused(self, enrollment: Enrollment) -> int:
        return len(enrollment.errors)

    @admin.display(description="counts")
    def counts(self, enrollment: Enrollment) -> str:
        return (f"{enrollment.n_total} images: {enrollment.n_enrolled} enrolled, "
                f"{enrollment.n_rejected} rejected, "
                f"{enrollment.n_pending} pending; {len(enrollment.errors)} files refused")  # fmt: skip

    @admin.display(description="refused files")
    def error_table(self, enrollment: Enrollment) -> SafeString | str:
        if not enrollment.errors:
            return "-"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>",
                                ((e.get("file", ""), e.get("error", ""))
                                 for e in enrollment.errors))  # fmt: skip
        return format_html('<table class="batch-errors"><tr><th>file</th><th>reason</th></tr>{}</table>', rows)

    @admin.display(description="live page")
    def live_page(self, enrollment: Enrollment) -> SafeString:
        images = reverse("admin:recognition_faceimage_changelist") + f"?enrollment__id__exact={enrollment.pk}"
        return format_html('<a href="{}">progress and rejected images</a> · <a href="{}">all its images</a>',
                           reverse("recognition:batch", args=[enrollment.pk]), images)  # fmt: skip
