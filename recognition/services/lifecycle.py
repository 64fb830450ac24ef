"""The recycle bin, purging and merging: how face data leaves the gallery, and how it comes back.

Moving to the recycle bin takes an image (or a whole person) out of search at once, because every search only
looks at enrolled images of people outside the bin; the file and the embedding stay until purged. Purging
removes the file from storage and the rows (embeddings go with their image) for good.

Every change here is written to the audit log (audit.services.record) in its own transaction, with
`actor`: the user who asked, or None for the system (retention) and commands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import Action
from audit.services import Target, record, record_per_person
from recognition.models import FaceImage, Person
from recognition.services import erasures
from recognition.services.queueing import queue_images
from recognition.signals import people_merging, person_erasing

log = logging.getLogger("recognition.lifecycle")

Images = QuerySet[FaceImage] | Iterable[FaceImage]


def _ids(images: Images) -> list[int]:
    if isinstance(images, QuerySet):
        return list(images.values_list("pk", flat=True))
    return [image.pk for image in images]


def _audit_images(actor, action: str, images: list[FaceImage], **details) -> None:
    """One audit entry per person whose images changed (image rows fetched with select_related person)."""
    record_per_person(actor, action, ((i.pk, i.person_id, str(i.person)) for i in images), **details)


def _locked(ids: list[int]) -> QuerySet[FaceImage]:
    """The images, locked for this transaction, with their person (for the audit entry; not locked)."""
    return FaceImage.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("person")


def _move(images: Images) -> list[FaceImage]:
    now = timezone.now()
    moved = []
    for image in _locked(_ids(images)).exclude(status=FaceImage.Status.DELETED):
        image.status_before_delete = image.status
        image.status = FaceImage.Status.DELETED
        image.deleted_at = now
        image.save(update_fields=["status", "status_before_delete", "deleted_at"])
        moved.append(image)
    return moved


def move_images_to_recycle_bin(images: Images, *, actor=None) -> int:
    """Out of search now, files kept. Returns how many images moved."""
    with transaction.atomic():
        moved = _move(images)
        _audit_images(actor, Action.RECYCLE, moved)
    return len(moved)


def _restore(images: Images) -> list[FaceImage]:
    requeue: list[int] = []
    restored = []
    ids = _ids(images)
    for image in _locked(ids).filter(status=FaceImage.Status.DELETED):
        image.status = image.status_before_delete or FaceImage.Status.PENDING
        image.status_before_delete = ""
        image.deleted_at = None
        image.save(update_fields=["status", "status_before_delete", "deleted_at"])
        restored.append(image)
        if image.status == FaceImage.Status.PENDING:
            requeue.append(image.pk)
    Person.objects.filter(images__pk__in=ids, deleted_at__isnull=False).update(deleted_at=None)
    if requeue:
        transaction.on_commit(lambda: queue_images(requeue))
    return restored


def restore_images(images: Images, *, actor=None) -> int:
    """Back to where they were before the recycle bin; an image that was still pending is queued again."""
    with transaction.atomic():
        restored = _restore(images)
        _audit_images(actor, Action.RESTORE, restored)
    return len(restored)


def _purge(images: Images) -> list[FaceImage]:
    doomed = list(_locked(_ids(images)))
    names = [image.file.name for image in doomed if image.file]
    storage = FaceImage._meta.get_field("file").storage
    FaceImage.objects.filter(pk__in=[image.pk for image in doomed]).delete()  # embeddings cascade
    transaction.on_commit(lambda: [storage.delete(name) for name in names])
    return doomed


def purge_images(images: Images, *, actor=None, **details) -> int:
    """Remove files, rows and embeddings for good. Files are deleted after the rows are gone (on commit)."""
    with transaction.atomic():
        doomed = _purge(images)
        _audit_images(actor, Action.PURGE, doomed, **details)
    return len(doomed)


def move_person_to_recycle_bin(person: Person, *, actor=None) -> None:
    """The person and all their images leave search at once."""
    with transaction.atomic():
        person.deleted_at = timezone.now()
        person.save(update_fields=["deleted_at", "updated_at"])
        moved = _move(person.images.all())
        record(actor, Action.RECYCLE, person, person=True, images=[i.pk for i in moved], count=len(moved))


def restore_person(person: Person, *, actor=None) -> None:
    with transaction.atomic():
        person.deleted_at = None
        person.save(update_fields=["deleted_at", "updated_at"])
        restored = _restore(person.images.filter(status=FaceImage.Status.DELETED))
        record(actor, Action.RESTORE, person, person=True, images=[i.pk for i in restored],
               count=len(restored))  # fmt: skip


@dataclass(frozen=True)
class PersonPurge:
    images: int  # face images purged (files, rows, embeddings)
    erased_elsewhere: int  # rows other apps erased or anonymised for the person (person_erasing receivers' counts)


def purge_person(person: Person, *, actor=None, keep_person: bool = False, **details) -> PersonPurge:
    """Erase a person's biometric data: every image file, image row and embedding, and what other apps hold
    of their face (the person_erasing signal: attendance removes its evidence crops and anonymises or keeps its
    rows per setting; all of them when the person goes), then the person. With `keep_person` the Person stays, a
    name with no face data. The erasure is recorded (recognition.services.erasures), so restoring an older backup
    erases them again.

    A person_erasing receiver may return how many of its rows it erased or anonymised; the counts add up in
    `erased_elsewhere`."""
    with transaction.atomic():
        target = Target("recognition.person", person.pk, str(person))
        responses = person_erasing.send(sender=Person, person=person, person_kept=keep_person)
        doomed = _purge(person.images.all())
        erasures.record_erasure(person.pk, person_kept=keep_person)  # a restore must not bring them back
        if not keep_person:
            person.delete()
        record(actor, Action.PURGE, target, person=not keep_person, images=[i.pk for i in doomed],
               count=len(doomed), **details)  # fmt: skip
    erased = sum(result for _, result in responses if isinstance(result, int))
    return PersonPurge(images=len(doomed), erased_elsewhere=erased)


def purge_expired(retention_days: int) -> int:
    """Purge images that have been in the recycle bin longer than the retention period, and people who have
    been there that long: a person goes the way every erasure goes (purge_person: the person_erasing signal,
    so attendance drops their crops and emotions, and a tombstone). Returns how many images were purged."""
    cutoff = timezone.now() - timedelta(days=retention_days)
    why = {"reason": f"in the recycle bin for more than {retention_days} days"}
    with transaction.atomic():
        expired = FaceImage.objects.filter(status=FaceImage.Status.DELETED, deleted_at__lt=cutoff)
        purged = purge_images(expired, **why)
        for person in Person.objects.filter(deleted_at__lt=cutoff):
            purged += purge_person(person, **why).images
    if purged:
        log.info("purged %s images older than %s days from the recycle bin", purged, retention_days)
    return purged


def merge_people(source: Person, target: Person, *, actor=None) -> int:
    """Move every image and embedding of `source` to `target`, then remove `source`. An image whose bytes
    `target` already has is purged rather than kept twice. Returns how many images moved."""
    if source.pk == target.pk:
        raise ValueError("cannot merge a person into themselves")
    with transaction.atomic():
        merged_from = {"id": source.pk, "name": str(source), "user": source.user_id}
        known = set(target.images.values_list("sha256", flat=True))
        duplicates = _purge(source.images.filter(sha256__in=known))
        moved = source.images.update(person=target)
        source.embeddings.update(person=target)
        people_merging.send(sender=Person, source=source, target=target)
        if source.user_id and not target.user_id:
            target.user_id, source.user_id = source.user_id, None
            source.save(update_fields=["user"])
            target.save(update_fields=["user", "updated_at"])
        source.delete()
        record(actor, Action.MERGE, target, merged_from=merged_from, moved=moved,
               duplicates_purged=[i.pk for i in duplicates])  # fmt: skip
    return moved
