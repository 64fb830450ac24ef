"""The recycle bin, purging and merging: how face data leaves the gallery, and how it comes back.

Moving to the recycle bin takes an image (or a whole person) out of search at once, because every search only
looks at enrolled images of people outside the bin; the file and the embedding stay until purged. Purging
removes the file from storage and the rows (embeddings go with their image) for good.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from recognition.models import FaceImage, Person
from recognition.signals import people_merging, person_erasing

log = logging.getLogger("recognition.lifecycle")

Images = QuerySet[FaceImage] | Iterable[FaceImage]


def _ids(images: Images) -> list[int]:
    if isinstance(images, QuerySet):
        return list(images.values_list("pk", flat=True))
    return [image.pk for image in images]


def move_images_to_recycle_bin(images: Images) -> int:
    """Out of search now, files kept. Returns how many images moved."""
    now = timezone.now()
    moved = 0
    with transaction.atomic():
        for image in FaceImage.objects.select_for_update().filter(pk__in=_ids(images)).exclude(
            status=FaceImage.Status.DELETED
        ):
            image.status_before_delete = image.status
            image.status = FaceImage.Status.DELETED
            image.deleted_at = now
            image.save(update_fields=["status", "status_before_delete", "deleted_at"])
            moved += 1
    return moved


def restore_images(images: Images) -> int:
    """Back to where they were before the recycle bin; an image that was still pending is queued again."""
    requeue: list[int] = []
    restored = 0
    with transaction.atomic():
        for image in FaceImage.objects.select_for_update().filter(pk__in=_ids(images), status=FaceImage.Status.DELETED):
            image.status = image.status_before_delete or FaceImage.Status.PENDING
            image.status_before_delete = ""
            image.deleted_at = None
            image.save(update_fields=["status", "status_before_delete", "deleted_at"])
            restored += 1
            if image.status == FaceImage.Status.PENDING:
                requeue.append(image.pk)
        Person.objects.filter(images__pk__in=_ids(images), deleted_at__isnull=False).update(deleted_at=None)
    if requeue:
        from recognition.services.enrollment import queue_images

        transaction.on_commit(lambda: queue_images(requeue))
    return restored


def purge_images(images: Images) -> int:
    """Remove files, rows and embeddings for good. Files are deleted after the rows are gone (on commit)."""
    with transaction.atomic():
        doomed = list(FaceImage.objects.select_for_update().filter(pk__in=_ids(images)))
        names = [image.file.name for image in doomed if image.file]
        storage = FaceImage._meta.get_field("file").storage
        FaceImage.objects.filter(pk__in=[image.pk for image in doomed]).delete()  # embeddings cascade
        transaction.on_commit(lambda: [storage.delete(name) for name in names])
    return len(doomed)


def move_person_to_recycle_bin(person: Person) -> None:
    """The person and all their images leave search at once."""
    with transaction.atomic():
        person.deleted_at = timezone.now()
        person.save(update_fields=["deleted_at", "updated_at"])
        move_images_to_recycle_bin(person.images.all())


def restore_person(person: Person) -> None:
    with transaction.atomic():
        person.deleted_at = None
        person.save(update_fields=["deleted_at", "updated_at"])
        restore_images(person.images.filter(status=FaceImage.Status.DELETED))


def purge_person(person: Person) -> None:
    """Erase a person's biometric data: every image file, image row and embedding, their attendance evidence
    crops (rows anonymised or kept per setting), then the person."""
    with transaction.atomic():
        person_erasing.send(sender=Person, person=person)
        purge_images(person.images.all())
        person.delete()


def purge_expired(retention_days: int) -> int:
    """Purge images that have been in the recycle bin longer than the retention period, and people whose
    images are all gone. Returns how many images were purged."""
    cutoff = timezone.now() - timedelta(days=retention_days)
    purged = purge_images(FaceImage.objects.filter(status=FaceImage.Status.DELETED, deleted_at__lt=cutoff))
    for person in Person.objects.filter(deleted_at__lt=cutoff, images__isnull=True):
        person.delete()
    if purged:
        log.info("purged %s images older than %s days from the recycle bin", purged, retention_days)
    return purged


def merge_people(source: Person, target: Person) -> int:
    """Move every image and embedding of `source` to `target`, then remove `source`. An image whose bytes
    `target` already has is purged rather than kept twice. Returns how many images moved."""
    if source.pk == target.pk:
        raise ValueError("cannot merge a person into themselves")
    with transaction.atomic():
        known = set(target.images.values_list("sha256", flat=True))
        duplicates = source.images.filter(sha256__in=known)
        purge_images(duplicates)
        moved = source.images.update(person=target)
        source.embeddings.update(person=target)
        people_merging.send(sender=Person, source=source, target=target)
        if source.user_id and not target.user_id:
            target.user_id, source.user_id = source.user_id, None
            source.save(update_fields=["user"])
            target.save(update_fields=["user", "updated_at"])
        source.delete()
    return moved
