"""The identity domain: people, their face images, embeddings, enrollment batches and per-pack match settings.

Life of a face image (the original's unTrained_data / Trained_data / RecycleBin, kept in the database):
pending -> enrolled | rejected(reason); enrolled/rejected -> deleted (recycle bin: out of search at once, file kept)
-> restored, or purged (file, row and embeddings gone for good).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from recognition.domain.pack import EMBEDDING_DIMENSIONS

# Embedding models and their dimensions (the pack specification). Each gets its own partial HNSW index over a
# fixed-size cast of the vector column, so one table holds every model and a search never mixes two models.


class Person(models.Model):
    display_name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True, allow_unicode=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    notes = models.TextField(blank=True, max_length=4000)  # forms and the API refuse longer
    is_active = models.BooleanField(default=True)
    awaiting_approval = models.BooleanField(
        default=False, help_text="self-enrolled and not searchable until staff approve (ENROLL_SELF_APPROVAL)"
    )
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="in the recycle bin since")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.display_name

    @property
    def in_recycle_bin(self) -> bool:
        return self.deleted_at is not None


class Source(models.TextChoices):
    UPLOAD = "upload", "admin upload"
    API = "api", "REST API"
    IMPORT = "import", "command line import"
    SIGNUP = "signup", "sign-up"
    WEBCAM = "webcam", "webcam"


class Enrollment(models.Model):
    """One batch of images taken in together; its progress is derived from its images' statuses."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=16, choices=Source.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    # Files refused before they became face images (not an image, duplicate, conflict, unsafe zip member...).
    errors = models.JSONField(default=list, blank=True)
    duplicates = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Enrollment #{self.pk} ({self.get_source_display()}, {self.state})"


def face_image_path(instance: FaceImage, filename: str) -> str:
    # Never a user-supplied path: the person's id and the content hash decide where the bytes live.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"faces/{instance.person_id}/{instance.sha256[:2]}/{instance.sha256}.{extension}"


class FaceImage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ENROLLED = "enrolled"
        REJECTED = "rejected"
        DELETED = "deleted", "in recycle bin"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="images")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="images")
    file = models.FileField(upload_to=face_image_path, max_length=300)
    sha256 = models.CharField(max_length=64, db_index=True)
    original_name = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reject_reason = models.CharField(max_length=200, blank=True)
    # Why a refusal happened as a code (recognition.integrity.Refusal); reject_reason holds its words.
    reject_code = models.CharField(max_length=32, blank=True)
    status_before_delete = models.CharField(max_length=16, choices=Status.choices, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    face_box = models.JSONField(null=True, blank=True, help_text="[x1, y1, x2, y2] of the face that was used")
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on a pending image (recognition.services.processing): it analyses with no transaction open
    # and writes only while the claim is its own; a dead worker's claim expires and is taken over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["person", "sha256"], name="one_copy_of_an_image_per_person")]

    def __str__(self) -> str:
        return f"{self.person} / {self.original_name or self.sha256[:12]}"


class FaceEmbedding(models.Model):
    face_image = models.ForeignKey(FaceImage, on_delete=models.CASCADE, related_name="embeddings")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="embeddings")  # for search
    model_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=64, blank=True)
    vector = VectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["face_image", "model_name"], name="one_embedding_per_image_and_model")
        ]
        indexes = [models.Index(fields=["model_name", "person"])] + [
            HnswIndex(
                OpClass(Cast("vector", VectorField(dimensions=dim)), name="vector_cosine_ops"),
                name=f"hnsw_{name}"[:30],
                condition=Q(model_name=name),
                m=16,
                ef_construction=64,
            )
            for name, dim in EMBEDDING_DIMENSIONS.items()
        ]

    def __str__(self) -> str:
        return f"{self.model_name} embedding of {self.face_image_id}"


class PackSettings(models.Model):
    """Per model pack: the match threshold and margin (shipped from measurement, changed by calibration), and
    which pack the gallery searches (switched only when a re-embedding job has finished)."""

    pack = models.CharField(max_length=32, unique=True)
    threshold = models.FloatField(help_text="minimum cosine similarity to accept the best person")
    margin = models.FloatField(help_text="how far the best person must beat the second best")
    is_active = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name_plural = "pack settings"
        # Moving the threshold changes who is recognised, for everyone: its own permission, not any staff's.
        permissions = [("change_threshold", "Can change the match threshold and margin")]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_pack")
        ]

    def __str__(self) -> str:
        return f"{self.pack} (threshold {self.threshold:.3f}, margin {self.margin:.3f})"


class ErasedPerson(models.Model):
    """A tombstone: this person's biometric data was erased (consent withdrawn, account deleted, purged by staff
    or by recycle-bin retention). No name and no biometric data, only the id, so a restore of an older backup
    can erase them again instead of bringing them back (facesite.backup)."""

    person_id = models.BigIntegerField(unique=True, help_text="id the erased Person had")
    erased_at = models.DateTimeField(default=timezone.now, db_index=True)
    person_kept = models.BooleanField(
        default=False, help_text="the Person row stayed (a name with no face data, its attendance kept)"
    )

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = "erased person"

    def __str__(self) -> str:
        return f"person #{self.person_id} erased {self.erased_at:%Y-%m-%d %H:%M}"


class IdentityConflict(models.Model):
    """A face that was added to one Person but looks like another one (or unlike the Person's own photos).

    Member enrollments (the Person's own account adding to it) are refused and recorded here; staff uploads are
    enrolled and flagged here. One row per batch, Person, other Person and kind: a 500-image folder that matches
    someone else is one conflict with 500 images, not 500 conflicts. Staff resolve it (recognition.services.
    integrity): merge the two, or confirm they are different people (a DistinctPeople row)."""

    class Kind(models.TextChoices):
        MATCHES_OTHER = "matches_other", "matches another person"
        UNLIKE_OWN = "unlike_own", "unlike the person's own photos"

    class Resolution(models.TextChoices):
        OPEN = "", "open"
        MERGED = "merged", "merged"
        DIFFERENT = "different", "confirmed different people"
        DISMISSED = "dismissed", "dismissed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # SET_NULL: a merge or an erasure removes a Person; the conflict and how it was resolved stay on record.
    person = models.ForeignKey(
        Person, null=True, on_delete=models.SET_NULL, related_name="identity_conflicts",
        help_text="the person the face was added to",
    )  # fmt: skip
    other = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="the person matched"
    )
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="identity_conflicts"
    )
    images = models.JSONField(default=list, help_text="ids of the face images involved")
    score = models.FloatField(help_text="best pooled similarity seen")
    refused = models.BooleanField(help_text="the images were refused (a member's own enrollment), not only flagged")
    created_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"conflict #{self.pk}: {self.person} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.resolution == self.Resolution.OPEN


class DistinctPeople(models.Model):
    """Two people staff confirmed are different (look-alikes, twins): their faces are not flagged again."""

    first = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")  # the lower id of the two
    second = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "distinct people"
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="one_row_per_distinct_pair"),
            models.CheckConstraint(condition=Q(first__lt=models.F("second")), name="distinct_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} and {self.second_id} are different people"


class CalibrationRun(models.Model):
    """One calibration of a pack's threshold (recognition.services.calibration): requested from the page or the
    API, run by a worker on a bounded sample of the gallery, its figures stored. The page shows a stored run and
    "apply" applies exactly the threshold of the run shown."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    pack = models.CharField(max_length=32)
    model_name = models.CharField(max_length=64, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    target_far = models.FloatField(help_text="false-accept rate per comparison the proposal is for")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    gallery_size = models.PositiveIntegerField(default=0, help_text="searchable embeddings of the model")
    sample_size = models.PositiveIntegerField(default=0, help_text="embeddings calibrated on (CALIBRATION_SAMPLE)")
    people = models.PositiveIntegerField(default=0)
    probes = models.PositiveIntegerField(default=0)
    current_threshold = models.FloatField(null=True, blank=True)
    proposed_threshold = models.FloatField(null=True, blank=True)
    resolved = models.BooleanField(default=False, help_text="measured (not extrapolated from the impostor tail)")
    # eer, threshold_at_eer, tar_at_far, far/tar at the proposal, score counts; histogram: counts per bin
    figures = models.JSONField(default=dict, blank=True)
    histogram = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["pack", "target_far", "-created_at"])]

    def __str__(self) -> str:
        return f"calibration #{self.pk} of {self.pack} ({self.status})"

    @property
    def enough(self) -> bool:
        """Were there genuine and impostor scores to calibrate on?"""
        return self.proposed_threshold is not None

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
