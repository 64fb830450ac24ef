"""Enrollment integrity: a face added to a Person must look like that Person and like nobody else.

The check runs where every face enters the gallery, in the worker that embeds it (`enrollment.process_face_image`),
so no door (sign-up, camera capture, profile upload, a re-process) can go around it:
- a member's own enrollment (the Person's account started the batch) is refused when the face is unlike the
  Person's enrolled photos (once it has any), or when it matches another Person above the pack's threshold: a
  slideshow of someone else's photos enrolls nothing, and the first photos of a sign-up are checked against the
  whole gallery, so they cannot be someone else's either;
- a staff upload that matches another Person is enrolled (staff decide) and flagged on its batch page.
Either way an IdentityConflict is recorded, with an audit entry, for staff to resolve: merge the two people, or
confirm they are different (recorded, so the pair is not flagged again), or dismiss it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import Action
from audit.services import Target, record
from recognition.domain.matching import MatchPolicy, pool_hits
from recognition.models import DistinctPeople, FaceImage, IdentityConflict, Person
from recognition.services.matching import pack_policy
from recognition.services.queueing import reprocess_images

log = logging.getLogger("recognition.integrity")

Kind = IdentityConflict.Kind
Resolution = IdentityConflict.Resolution


@dataclass(frozen=True)
class Finding:
    """What the check found about one face."""

    kind: str  # IdentityConflict.Kind
    other_id: int | None  # the Person matched (MATCHES_OTHER)
    score: float  # pooled similarity: to the other Person, or to the Person's own photos (UNLIKE_OWN)


def by_member(batch, person: Person) -> bool:
    """Is this batch the Person's own account adding to it (sign-up, profile upload, camera capture), not staff?"""
    return person.user_id is not None and batch is not None and batch.started_by_id == person.user_id


def is_member_enrollment(image: FaceImage) -> bool:
    return by_member(image.enrollment, image.person)


def policy_for_model(model_name: str) -> MatchPolicy:
    """The match policy of the pack whose embedder made `model_name` vectors (the active pack first)."""
    from recognition.engine.model_store import PACKS
    from recognition.inference import active_pack_name

    active = active_pack_name()
    for pack in [active, *sorted(PACKS)]:
        if PACKS.get(pack, {}).get("embedder") == model_name:
            return pack_policy(pack)
    raise KeyError(f"no model pack embeds with {model_name!r}")


def distinct_from(person_id: int) -> set[int]:
    """People staff confirmed are not `person_id`."""
    rows = DistinctPeople.objects.filter(Q(first_id=person_id) | Q(second_id=person_id))
    return {a if b == person_id else b for a, b in rows.values_list("first_id", "second_id")}


def check_face(image: FaceImage, vector: Sequence[float], *, model_name: str, own: bool) -> Finding | None:
    """Whether a new face of `image.person` matches another Person (always checked) or, with `own`, is unlike
    the Person's own photos (once there are any; those in the recycle bin count too). A match elsewhere wins:
    it is the graver."""
    from recognition.selectors import own_hits, search_gallery

    policy = policy_for_model(model_name)
    excluded = distinct_from(image.person_id) | {image.person_id}
    others = [s for s in pool_hits(search_gallery(vector, model_name=model_name, awaiting=True), policy)
              if s.person_id not in excluded]  # fmt: skip
    if others and others[0].score >= policy.threshold:
        return Finding(Kind.MATCHES_OTHER, others[0].person_id, others[0].score)
    if own:
        mine = pool_hits(own_hits(vector, person_id=image.person_id, model_name=model_name), policy)
        if mine and mine[0].score < policy.threshold:
            return Finding(Kind.UNLIKE_OWN, None, mine[0].score)
    return None


def record_conflict(image: FaceImage, finding: Finding, *, refused: bool) -> IdentityConflict:
    """Add the image to the open conflict of its batch, Person, other Person and kind, or open one (with an
    audit entry). Runs in the caller's transaction."""
    key = dict(enrollment_id=image.enrollment_id, person_id=image.person_id, other_id=finding.other_id,
               kind=finding.kind, resolution=Resolution.OPEN)  # fmt: skip
    conflict = IdentityConflict.objects.select_for_update().filter(**key).first()
    if conflict is not None:
        conflict.images = sorted({*conflict.images, image.pk})
        conflict.score = max(conflict.score, finding.score)
        conflict.save(update_fields=["images", "score"])
        return conflict
    conflict = IdentityConflict.objects.create(**key, images=[image.pk], score=finding.score, refused=refused)
    actor = image.enrollment.started_by if image.enrollment_id else None
    record(actor, Action.IDENTITY_CONFLICT, Target("recognition.person", image.person_id, str(image.person)),
           conflict=conflict.pk, kind=finding.kind, other=finding.other_id, score=round(finding.score, 4),
           refused=refused, batch=image.enrollment_id, image=image.pk)  # fmt: skip
    log.warning("identity conflict #%s: image %s of person %s %s (person %s, score %.3f)%s", conflict.pk,
                image.pk, image.person_id, finding.kind, finding.other_id, finding.score,
                " refused" if refused else " flagged")  # fmt: skip
    return conflict


def record_same_bytes(person: Person, holder_id: int, *, batch, actor) -> IdentityConflict:
    """A member uploaded the very bytes enrolled for someone else: refused before it became an image."""
    key = dict(enrollment_id=batch.pk, person_id=person.pk, other_id=holder_id, kind=Kind.MATCHES_OTHER,
               resolution=Resolution.OPEN)  # fmt: skip
    conflict = IdentityConflict.objects.filter(**key).first()
    if conflict is not None:  # several copied files of one batch are one conflict
        return conflict
    conflict = IdentityConflict.objects.create(**key, score=1.0, refused=True)
    record(actor, Action.IDENTITY_CONFLICT, Target("recognition.person", person.pk, str(person)),
           conflict=conflict.pk, kind=Kind.MATCHES_OTHER, other=holder_id, score=1.0, refused=True,
           batch=batch.pk, same_bytes=True)  # fmt: skip
    return conflict


# --- staff resolve ------------------------------------------------------------------------------------------
class CannotResolve(ValueError):
    """The conflict is closed already, or the resolution does not apply to it."""


def _pair_conflicts(conflict: IdentityConflict):
    """Every open conflict between the same two people (either way round): one decision settles them all."""
    a, b = conflict.person_id, conflict.other_id
    return IdentityConflict.objects.select_for_update().filter(
        Q(person_id=a, other_id=b) | Q(person_id=b, other_id=a), resolution=Resolution.OPEN,
        kind=Kind.MATCHES_OTHER,
    )  # fmt: skip


def _close(conflicts, resolution: str, actor, **details) -> list[int]:
    now = timezone.now()
    closed = []
    for conflict in conflicts:
        conflict.resolution, conflict.resolved_at = resolution, now
        conflict.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
        conflict.save(update_fields=["resolution", "resolved_at", "resolved_by"])
        closed.append(conflict)
        record(actor, Action.CONFLICT_RESOLVE, conflict, resolution=resolution, person=conflict.person_id,
               other=conflict.other_id, **details)  # fmt: skip
    return [image_id for conflict in closed if conflict.refused for image_id in conflict.images]


def _reprocess_refused(image_ids: list[int], actor) -> int:
    """Refused images go back to the workers: checked again, now with the staff decision in place."""
    return reprocess_images(FaceImage.objects.filter(pk__in=image_ids, status=FaceImage.Status.REJECTED),
                            actor=actor)  # fmt: skip


def confirm_different(conflict: IdentityConflict, *, actor=None) -> int:
    """The two are different people: record the pair (never flagged again), close their open conflicts, and
    send refused images back to the workers. Returns how many images were re-queued."""
    with transaction.atomic():
        conflict = _open(conflict, Kind.MATCHES_OTHER)
        first, second = sorted((conflict.person_id, conflict.other_id))
        DistinctPeople.objects.get_or_create(first_id=first, second_id=second, defaults={
            "confirmed_by": actor if getattr(actor, "is_authenticated", False) else None})  # fmt: skip
        refused = _close(_pair_conflicts(conflict), Resolution.DIFFERENT, actor)
        return _reprocess_refused(refused, actor)


class MergeRefused(CannotResolve):
    """Both people belong to accounts: merging would drop one account's link to its face data."""


def merge_conflict(conflict: IdentityConflict, *, actor=None) -> Person:
    """The two are one person: merge them (into the one linked to an account, if either is), close their open
    conflicts and send refused images back to the workers. Returns the Person that remains."""
    with transaction.atomic():
        conflict = _open(conflict, Kind.MATCHES_OTHER)
        person, other = conflict.person, conflict.other
        if person.user_id and other.user_id:
            raise MergeRefused("both people belong to accounts; an administrator must decide by hand")
        source, target = (other, person) if person.user_id else (person, other)
        refused = _close(_pair_conflicts(conflict), Resolution.MERGED, actor, merged_into=target.pk)
        from recognition.services.lifecycle import merge_people

        merge_people(source, target, actor=actor)
        _reprocess_refused(refused, actor)
        return target


def dismiss(conflict: IdentityConflict, *, actor=None) -> None:
    """Seen and nothing to do (e.g. a member's unlike photo stays rejected)."""
    with transaction.atomic():
        _close([_open(conflict)], Resolution.DISMISSED, actor)


def _open(conflict: IdentityConflict, kind: str | None = None) -> IdentityConflict:
    conflict = IdentityConflict.objects.select_for_update().get(pk=conflict.pk)
    if not conflict.is_open:
        raise CannotResolve(f"conflict #{conflict.pk} is already {conflict.get_resolution_display()}")
    if kind is not None and (conflict.kind != kind or conflict.person_id is None or conflict.other_id is None):
        raise CannotResolve(f"conflict #{conflict.pk} is not between two people who still exist")
    return conflict


# --- approval of self-enrolled people (ENROLL_SELF_APPROVAL) ------------------------------------------------
def approve_people(people, *, actor=None) -> int:
    """Self-enrolled people waiting for approval become searchable. Returns how many were approved."""
    with transaction.atomic():
        waiting = list(Person.objects.select_for_update().filter(pk__in=[p.pk for p in people],
                                                                 awaiting_approval=True))  # fmt: skip
        for person in waiting:
            person.awaiting_approval = False
            person.save(update_fields=["awaiting_approval", "updated_at"])
            record(actor, Action.APPROVE, person)
    return len(waiting)
