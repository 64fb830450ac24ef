"""People in the admin: their images at a glance, the recycle bin, purge, merge and approval."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recognition import selectors
from recognition.admin.display import AdminMedia, face_thumb, objects_page
from recognition.admin.recycle_bin import RecycleBinDeleteMixin, RecycleBinFilter
from recognition.models import FaceEmbedding, FaceImage, Person
from recognition.services import lifecycle

Status = FaceImage.Status
THUMBS_PER_PERSON = 4


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
            FaceImage.objects.filter(status=Status.ENROLLED).order_by("pk").only("pk", "person_id", "original_name")
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

    @admin.action(description="Move to the recycle bin (out of search now, files kept)", permissions=["delete"])
    def move_to_recycle_bin(self, request: HttpRequest, queryset: QuerySet) -> None:
        people = list(queryset.filter(deleted_at__isnull=True))
        for person in people:
            lifecycle.move_person_to_recycle_bin(person, actor=request.user)
        self.message_user(request, f"{len(people)} people moved to the recycle bin.")

    @admin.action(description="Restore from the recycle bin", permissions=["delete"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        people = list(queryset.filter(deleted_at__isnull=False))
        for person in people:
            lifecycle.restore_person(person, actor=request.user)
        self.message_user(request, f"{len(people)} people restored.")

    @admin.action(description="Purge for good (files and embeddings)…", permissions=["delete"])
    def purge(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        if request.POST.get("post") == "yes":
            people = list(queryset)
            for person in people:
                lifecycle.purge_person(person, actor=request.user)
            self.message_user(request, f"{len(people)} people purged with their images and embeddings.")
            return None
        images = FaceImage.objects.filter(person__in=queryset)
        return objects_page(
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
            moved = lifecycle.merge_people(other, keep, actor=request.user)
            self.message_user(request, f"{other} merged into {keep}: {moved} images moved.")
            return None
        return objects_page(self, request, queryset, "admin/recognition/person/merge.html",
                             "Merge two people", "merge", people=people)  # fmt: skip
