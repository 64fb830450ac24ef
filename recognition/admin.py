"""The admin of the identity domain: people, face images, embeddings, enrollment batches and model packs.

Thin: every action that changes biometric data calls a lifecycle service. Deleting a person or an image in
the admin moves it to the recycle bin (out of search at once, files kept); only "purge", after a confirmation
page, removes files and embeddings for good. Face images are shown only through the permission-checked view.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from recognition import selectors
from recognition.domain.pack import pack_model_name
from recognition.models import Enrollment, FaceEmbedding, FaceImage, IdentityConflict, PackSettings, Person
from recognition.services import enrollment, lifecycle
from recognition.services.match_policy import PolicyChange, set_match_policy

Status = FaceImage.Status
THUMBS_PER_PERSON = 4


# --- small pieces of HTML -----------------------------------------------------------------------------------
def face_thumb(image_id: int, title: str = "", size: int = 48) -> SafeString:
    """A thumbnail through the staff-only image view (never a media URL), linking to the full image."""
    url = reverse("recognition:face_image", args=[image_id])
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img class="face-thumb" src="{}?thumb=1" width="{}" '
        'height="{}" alt="" title="{}" loading="lazy"></a>',
        url, url, size, size, title,
    )  # fmt: skip


def progress_bar(done: int, total: int) -> SafeString:
    percent = 100 if total == 0 else round(100 * done / total)
    return format_html(
        '<span class="batch-bar" title="{} of {} processed"><span style="width: {}%"></span></span> {}%',
        done, total, percent, percent,
    )  # fmt: skip


def _objects_page(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, template: str,
                  title: str, action: str, **extra) -> TemplateResponse:  # fmt: skip
    """Django's intermediate-page pattern: a form that posts the same action back with post=yes."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
        **extra,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, template, context)


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
        self.message_user(
            request, f"“{obj_display}” was moved to the recycle bin (files kept; purge removes them)."
        )
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


class AdminMedia:
    css = {"all": ["recognition/recognition.css"]}


# --- people -------------------------------------------------------------------------------------------------
@admin.register(Person)
class PersonAdmin(RecycleBinDeleteMixin, admin.ModelAdmin):
    list_display = ("display_name", "thumbnails", "enrolled", "pending", "rejected", "recycle_bin", "user")
    list_filter = (RecycleBinFilter, "is_active", "awaiting_approval")
    search_fields = ("display_name", "slug", "user__username", "user__email")
    prepopulated_fields = {"slug": ("display_name",)}
    # Approval only through its action (audited), never by ticking a box.
    readonly_fields = ("awaiting_approval", "deleted_at", "created_at", "updated_at", "gallery")
    fields = ("display_name", "slug", "user", "is_active", "awaiting_approval", "notes", "gallery", "deleted_at",
              "created_at", "updated_at")  # fmt: skip
    raw_id_fields = ("user",)
    actions = ("move_to_recycle_bin", "restore", "purge", "merge", "approve")
    Media = AdminMedia

    def save_model(self, request: HttpRequest, obj: Person, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Two people may share a name (two Ann Lees), so this is a warning, not a refusal: it catches the
        # common mistake of adding someone who is already there.
        if not change:
            same = Person.objects.filter(display_name__iexact=obj.display_name.strip()).exclude(pk=obj.pk)
            if same.exists():
                self.message_user(request, f"Another person is already called {obj.display_name!r} "
                                  f"({same.count()}): check it is not the same person (merge them if so).",
                                  messages.WARNING)  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        sample = (
            FaceImage.objects.filter(status=Status.ENROLLED)
            .order_by("pk")
            .only("pk", "person_id", "original_name")
        )
        return (
            selectors.with_image_counts(super().get_queryset(request))
            .select_related("user")
            .prefetch_related(Prefetch("images", queryset=sample[:THUMBS_PER_PERSON], to_attr="sample"))
        )

    @admin.display(description="enrolled images")
    def thumbnails(self, person: Person) -> SafeString:
        thumbs = ((face_thumb(i.pk, i.original_name, 40),) for i in person.sample)
        return format_html_join("", "{}", thumbs) or "-"

    @admin.display(description="enrolled", ordering="n_enrolled")
    def enrolled(self, person: Person) -> int:
        return person.n_enrolled

    @admin.display(description="pending", ordering="n_pending")
    def pending(self, person: Person) -> int:
        return person.n_pending

    @admin.display(description="rejected", ordering="n_rejected")
    def rejected(self, person: Person) -> SafeString | int:
        if not person.n_rejected:
            return 0
        url = reverse("admin:recognition_faceimage_changelist")
        return format_html('<a href="{}?person__id__exact={}&status__exact=rejected">{}</a>', url, person.pk,
                           person.n_rejected)  # fmt: skip

    @admin.display(description="recycle bin", ordering="deleted_at")
    def recycle_bin(self, person: Person) -> str:
        if person.deleted_at:
            return f"all, since {person.deleted_at:%Y-%m-%d}"
        return f"{person.n_deleted} images" if person.n_deleted else "-"

    @admin.display(description="face images")
    def gallery(self, person: Person) -> SafeString:
        if person.pk is None:
            return "-"
        images = person.images.order_by("status", "pk")[:60]
        cells = format_html_join(
            "",
            '<figure class="face-cell status-{}">{}<figcaption>{}<br>{}</figcaption></figure>',
            ((i.status, face_thumb(i.pk, i.original_name, 72), i.get_status_display(), i.reject_reason)
             for i in images),
        )  # fmt: skip
        url = reverse("admin:recognition_faceimage_changelist") + f"?person__id__exact={person.pk}"
        return format_html('<div class="face-gallery">{}</div><p><a href="{}">All their images</a></p>',
                           cells, url)  # fmt: skip

    def delete_model(self, request: HttpRequest, obj: Person) -> None:
        lifecycle.move_person_to_recycle_bin(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for person in queryset:
            lifecycle.move_person_to_recycle_bin(person, actor=request.user)

    @admin.action(
        description="Move to the recycle bin (out of search now, files kept)", permissions=["delete"]
    )
    def move_to_recycle_bin(self, request: HttpRequest, queryset: QuerySet) -> None:
        people = list(queryset.filter(deleted_at__isnull=True))
        for person in people:
            lifecycle.move_person_to_recycle_bin(person, actor=request.user)
        history(request, people, CHANGE, "Moved to the recycle bin with all their images.")
        self.message_user(request, f"{len(people)} people moved to the recycle bin.")

    @admin.action(description="Restore from the recycle bin", permissions=["delete"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        people = list(queryset.filter(deleted_at__isnull=False))
        for person in people:
            lifecycle.restore_person(person, actor=request.user)
        history(request, people, CHANGE, "Restored from the recycle bin.")
        self.message_user(request, f"{len(people)} people restored.")

    @admin.action(description="Purge for good (files and embeddings)…", permissions=["delete"])
    def purge(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        if request.POST.get("post") == "yes":
            people = list(queryset)
            history(request, people, DELETION, "Purged with their image files and embeddings.")
            for person in people:
                lifecycle.purge_person(person, actor=request.user)
            self.message_user(request, f"{len(people)} people purged with their images and embeddings.")
            return None
        images = FaceImage.objects.filter(person__in=queryset)
        return _objects_page(
            self, request, queryset, "admin/recognition/purge_confirmation.html",
            "Purge people for good?", "purge",
            image_count=images.count(),
            embedding_count=FaceEmbedding.objects.filter(face_image__in=images).count(),
        )  # fmt: skip

    @admin.action(description="Approve self-enrolled people (searchable from now on)", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        from recognition.services.integrity import approve_people

        approved = approve_people(queryset, actor=request.user)
        self.message_user(request, f"{approved} {'person' if approved == 1 else 'people'} approved.")

    @admin.action(description="Merge the two selected people…", permissions=["change", "delete"])
    def merge(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        people = list(queryset.order_by("pk"))
        if len(people) != 2:
            self.message_user(request, "Select exactly two people to merge.", messages.ERROR)
            return None
        if request.POST.get("post") == "yes":
            keep = next((p for p in people if str(p.pk) == request.POST.get("keep")), None)
            if keep is None:
                self.message_user(request, "Choose which person to keep.", messages.ERROR)
                return None
            other = people[1] if keep is people[0] else people[0]
            history(request, [other], DELETION, f"Merged into {keep} (#{keep.pk}).")
            moved = lifecycle.merge_people(other, keep, actor=request.user)
            history(request, [keep], CHANGE, f"{other} (#{other.pk}) merged in: {moved} images.")
            self.message_user(request, f"{other} merged into {keep}: {moved} images moved.")
            return None
        return _objects_page(self, request, queryset, "admin/recognition/person/merge.html",
                             "Merge two people", "merge", people=people)  # fmt: skip


# --- face images --------------------------------------------------------------------------------------------
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

    @admin.action(
        description="Move to the recycle bin (out of search now, files kept)", permissions=["delete"]
    )
    def move_to_recycle_bin(self, request: HttpRequest, queryset: QuerySet) -> None:
        history(request, queryset.exclude(status=Status.DELETED), CHANGE, "Moved to the recycle bin.")
        moved = lifecycle.move_images_to_recycle_bin(queryset, actor=request.user)
        self.message_user(request, f"{moved} images moved to the recycle bin.")

    @admin.action(description="Restore from the recycle bin", permissions=["delete"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        history(request, queryset.filter(status=Status.DELETED), CHANGE, "Restored from the recycle bin.")
        restored = lifecycle.restore_images(queryset, actor=request.user)
        self.message_user(request, f"{restored} images restored.")

    @admin.action(description="Purge for good (files and embeddings)…", permissions=["delete"])
    def purge(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        if request.POST.get("post") == "yes":
            history(request, queryset, DELETION, "Purged with its file and embeddings.")
            purged = lifecycle.purge_images(queryset, actor=request.user)
            self.message_user(request, f"{purged} images purged with their files and embeddings.")
            return None
        return _objects_page(
            self, request, queryset.select_related("person"), "admin/recognition/purge_confirmation.html",
            "Purge face images for good?", "purge",
            image_count=queryset.count(),
            embedding_count=FaceEmbedding.objects.filter(face_image__in=queryset).count(),
        )  # fmt: skip

    @admin.action(description="Re-process (rejected or pending images)", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet) -> None:
        history(request, queryset.filter(status__in=[Status.REJECTED, Status.PENDING]), CHANGE,
                "Queued for processing again.")  # fmt: skip
        count = enrollment.reprocess_images(queryset, actor=request.user)
        self.message_user(request, f"{count} images queued for processing again.")


# --- embeddings ---------------------------------------------------------------------------------------------
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


# --- enrollment batches -------------------------------------------------------------------------------------
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
        return format_html(
            '<table class="batch-errors"><tr><th>file</th><th>reason</th></tr>{}</table>', rows
        )

    @admin.display(description="live page")
    def live_page(self, enrollment: Enrollment) -> SafeString:
        images = reverse("admin:recognition_faceimage_changelist") + f"?enrollment__id__exact={enrollment.pk}"
        return format_html('<a href="{}">progress and rejected images</a> · <a href="{}">all its images</a>',
                           reverse("recognition:batch", args=[enrollment.pk]), images)  # fmt: skip


# --- model packs --------------------------------------------------------------------------------------------
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


# --- identity conflicts -------------------------------------------------------------------------------------
@admin.register(IdentityConflict)
class IdentityConflictAdmin(admin.ModelAdmin):
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
