"""Re-embedding the gallery with another model pack, and switching the active pack only when it is complete.

Embeddings of two models are not comparable, so the gallery keeps one embedding per image and model
(FaceEmbedding.model_name) and searches one model at a time. Moving to another pack:

1. `start_reembed(pack)` checks the pack, clears the failures of an earlier run for its model and queues the job.
2. `reembed_step` (a Celery task's body) embeds the next chunk of images that lack an embedding of the pack's
   embedder in its current version (`domain.pack.pack_model_version`: an embedding written by other weights or
   without the embedder's test-time augmentation is stale and is replaced), then queues the next step. Every
   step asks the database what is still missing, so a step that runs twice (a killed worker, acks_late) or a job
   started again does no harm and picks up where it stopped. Re-embedding the ACTIVE pack brings a gallery
   written by an older version of its embedder up to date (`manage.py reembed open` after an upgrade); until
   it has finished, search compares only the vectors of the current version (recognition.selectors), and
   refuses with ModelVersionMismatch while the gallery holds none of them.
3. When nothing is missing, `finish_reembed_if_complete` makes the pack the active one, in one transaction with
   a last check, so search never switches to a model some enrolled image lacks.

An image whose face the new pack cannot find is not dropped: the reason is kept in its `quality["embed_errors"]`
under the model's name, reported by `reembed_progress`, and the switch waits for the admin unless the job was
started with allow_failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit.models import Action
from audit.services import Target, record
from recognition.conf import recognition_settings
from recognition.domain.pack import pack_model_name, pack_model_version
from recognition.engine.tracker import iou_matrix
from recognition.models import FaceEmbedding, FaceImage, PackSettings
from recognition.services.match_policy import PolicyChange, set_match_policy
from recognition.services.processing import analyse_stored_image, store_embedding

log = logging.getLogger("recognition.reembed")

ERRORS_KEY = "embed_errors"  # FaceImage.quality[ERRORS_KEY][model_name] = why that model has no embedding
MIN_IOU = 0.3  # the new detector's face must overlap the face enrolled before at least this much
REEMBED_TASK = "recognition.tasks.reembed_pack"


def eligible_images() -> QuerySet[FaceImage]:
    """Images the gallery searches, or would search again if restored from the recycle bin."""
    status = FaceImage.Status
    return FaceImage.objects.filter(
        Q(status=status.ENROLLED) | Q(status=status.DELETED, status_before_delete=status.ENROLLED)
    )


def _has_embedding(model_name: str, version: str | None = None) -> Exists:
    """An embedding of this model (of this model_version when given: others are stale)."""
    rows = FaceEmbedding.objects.filter(face_image=OuterRef("pk"), model_name=model_name)
    return Exists(rows if version is None else rows.filter(model_version=version))


def _failed_q(model_name: str) -> Q:
    # Both lookups: a missing "embed_errors" key makes the inner has_key NULL, which NOT would keep NULL.
    return Q(quality__has_key=ERRORS_KEY) & Q(**{f"quality__{ERRORS_KEY}__has_key": model_name})


def missing_images(model_name: str, version: str | None = None) -> QuerySet[FaceImage]:
    """Eligible images with neither an embedding of this model (of this version, when given) nor a recorded
    failure, oldest first."""
    failed = eligible_images().filter(_failed_q(model_name)).values("pk")
    return eligible_images().filter(~_has_embedding(model_name, version)).exclude(pk__in=failed).order_by("pk")


@dataclass(frozen=True)
class ReembedProgress:
    pack: str
    model_name: str
    total: int  # eligible images
    embedded: int  # with an embedding of this model
    failed: int  # the pack found no usable face; listed in `failures`
    active: bool  # this pack is the one search uses
    failures: list[dict] = field(default_factory=list)  # the first 100

    @property
    def missing(self) -> int:
        return self.total - self.embedded - self.failed

    @property
    def complete(self) -> bool:
        return self.missing == 0

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * (self.embedded + self.failed) / self.total)

    def as_dict(self) -> dict:
        return {**asdict(self), "missing": self.missing, "complete": self.complete, "percent": self.percent}


def reembed_progress(pack: str) -> ReembedProgress:
    """How far the gallery is embedded with a pack's model, read from the rows themselves."""
    model_name, version = pack_model_name(pack), pack_model_version(pack)
    images = eligible_images()
    embedded = images.filter(_has_embedding(model_name, version))
    failed = images.filter(~_has_embedding(model_name, version)).filter(_failed_q(model_name))
    failures = [
        {"image": image.pk, "person": str(image.person), "file": image.original_name,
         "error": image.quality[ERRORS_KEY][model_name]}
        for image in failed.select_related("person").order_by("pk")[:100]
    ]  # fmt: skip
    return ReembedProgress(
        pack=pack,
        model_name=model_name,
        total=images.count(),
        embedded=embedded.count(),
        failed=failed.count(),
        active=PackSettings.objects.filter(pack=pack, is_active=True).exists(),
        failures=failures,
    )


def start_reembed(
    pack: str,
    started_by=None,
    *,
    threshold: float | None = None,
    margin: float | None = None,
    allow_failures: bool = False,
) -> ReembedProgress:
    """Queue the job that embeds every eligible image with `pack`'s model and then makes `pack` active.

    The pack keeps its PackSettings row (threshold and margin given here replace its values); a pack without one
    gets the shipped defaults of recognition.services.matching. Failures of an earlier run are tried again.
    """
    with transaction.atomic():
        prepare_reembed(pack, started_by, threshold=threshold, margin=margin)
        started_by_id = getattr(started_by, "pk", None)
        transaction.on_commit(lambda: _queue_step(pack, allow_failures, started_by_id))
    log.info("re-embedding with pack %s queued", pack)
    return reembed_progress(pack)


def prepare_reembed(pack: str, started_by=None, *, threshold: float | None = None,
                    margin: float | None = None) -> None:  # fmt: skip
    """What start_reembed does before it queues: check the pack, store its match settings, clear the failures
    an earlier run recorded for its model (they are tried again). The CLI calls it, then runs the job here."""
    model_name = pack_model_name(pack)
    with transaction.atomic():
        row = PackSettings.objects.filter(pack=pack).first()
        previous = None if row is None else {"threshold": row.threshold, "margin": row.margin}
        record(started_by, Action.REEMBED, Target("recognition.packsettings", pack, pack), model=model_name,
               threshold=threshold, margin=margin, previous=previous)  # fmt: skip
        if row is None or threshold is not None or margin is not None:
            try:
                set_match_policy(pack, via=PolicyChange.REEMBED, threshold=threshold, margin=margin, user=started_by)
            except ValueError as exc:
                raise ValueError(
                    f"{exc} (measured for {model_name}) so they are stored before it becomes active"
                ) from exc
        _clear_failures(model_name)


def _clear_failures(model_name: str) -> None:
    for image in FaceImage.objects.select_for_update().filter(_failed_q(model_name)):
        image.quality[ERRORS_KEY].pop(model_name, None)
        if not image.quality[ERRORS_KEY]:
            del image.quality[ERRORS_KEY]
        image.save(update_fields=["quality"])


def _queue_step(pack: str, allow_failures: bool, started_by_id: int | None) -> None:
    kwargs = {"allow_failures": allow_failures, "started_by_id": started_by_id}
    current_app.signature(REEMBED_TASK, args=(pack,), kwargs=kwargs).delay()  # by name: tasks call services


def reembed_step(
    pack: str,
    analyzer,
    *,
    allow_failures: bool = False,
    started_by_id: int | None = None,
    chunk_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    queue_next: bool | None = None,
) -> ReembedProgress:
    """Body of the `reembed_pack` task: embed the next chunk of missing images, then queue the next step, or,
    when nothing is missing, switch the active pack. With queue_next False (eager mode, the CLI) it loops
    in-process instead of queueing itself."""
    model_name = pack_model_name(pack)
    if analyzer.embedder.name != model_name:
        raise ValueError(f"the analyzer embeds with {analyzer.embedder.name}, pack {pack!r} needs {model_name}")
    version = analyzer.embedder.version
    size = max(1, chunk_size or recognition_settings().enroll_chunk_size)
    queue_next = (not settings.CELERY_TASK_ALWAYS_EAGER) if queue_next is None else queue_next
    done = 0
    while True:
        ids = list(missing_images(model_name, version).values_list("pk", flat=True)[:size])
        if not ids:
            switched = finish_reembed_if_complete(pack, allow_failures=allow_failures, started_by_id=started_by_id)
            if not switched or not missing_images(model_name, version).exists():
                return reembed_progress(pack)
            continue  # images enrolled with the previous pack while the switch happened: embed them too
        outcomes = []
        for image_id in ids:
            outcomes.append(reembed_image(image_id, analyzer))
            done += 1
            if on_progress:
                on_progress(done)
        if queue_next:
            _queue_step(pack, allow_failures, started_by_id)
            return reembed_progress(pack)
        if not any(outcomes):  # all locked by a worker busy with them: wait for it rather than spin
            time.sleep(0.5)


def reembed_image(image_id: int, analyzer) -> str | None:
    """Give one image an embedding of the analyzer's model and version (a stale one is replaced): "embedded",
    "failed" (reason recorded; a stale embedding is kept), or None when there was nothing to do (done already, no
    longer eligible, or locked by another worker)."""
    model_name, version = analyzer.embedder.name, analyzer.embedder.version
    with transaction.atomic():
        image = eligible_images().select_for_update(skip_locked=True).filter(pk=image_id).first()
        current = FaceEmbedding.objects.filter(face_image=image, model_name=model_name, model_version=version)
        if image is None or current.exists():
            return None
        faces = analyse_stored_image(image, analyzer)
        if isinstance(faces, str):
            return _fail(image, model_name, faces)
        face = _same_face(faces, image.face_box)
        if face is None or face.embedding is None:
            found = f"{len(faces)} face(s) found, none where the enrolled face is" if faces else "no face found"
            return _fail(image, model_name, found)
        store_embedding(image, analyzer.embedder, face.embedding)
        return "embedded"


def _same_face(faces: list, face_box: list | None):
    """The face that overlaps the one enrolled before the most (the largest when no box was kept)."""
    if not faces:
        return None
    if not face_box:
        return max(faces, key=lambda f: f.quality.face_px)
    overlaps = iou_matrix(np.array([f.box for f in faces], dtype=np.float64), np.array([face_box], np.float64))[:, 0]
    best = int(np.argmax(overlaps))
    return faces[best] if overlaps[best] >= MIN_IOU else None


def _fail(image: FaceImage, model_name: str, reason: str) -> str:
    errors = dict(image.quality.get(ERRORS_KEY) or {})
    errors[model_name] = reason[:200]
    image.quality = {**image.quality, ERRORS_KEY: errors}
    image.save(update_fields=["quality"])
    return "failed"


def finish_reembed_if_complete(pack: str, *, allow_failures: bool = False, started_by_id: int | None = None) -> bool:
    """Make `pack` the active pack if every eligible image has its embedding (or, with allow_failures, a
    recorded failure). One transaction: the rows are locked, the check is repeated, then the flags change."""
    model_name, version = pack_model_name(pack), pack_model_version(pack)
    with transaction.atomic():
        rows = {row.pack: row for row in PackSettings.objects.select_for_update().order_by("pk")}
        target = rows.get(pack)
        if target is None:
            log.warning("re-embedding with %s finished, but the pack has no match settings: not switched", pack)
            return False
        if target.is_active:
            return True
        if missing_images(model_name, version).exists():
            return False
        failed = eligible_images().filter(~_has_embedding(model_name, version)).filter(_failed_q(model_name)).count()
        if failed and not allow_failures:
            log.warning("pack %s: %s image(s) could not be embedded; the active pack is unchanged", pack, failed)
            return False
        PackSettings.objects.filter(is_active=True).exclude(pk=target.pk).update(is_active=False)
        target.is_active = True
        target.updated_at = timezone.now()
        target.updated_by_id = started_by_id
        target.save(update_fields=["is_active", "updated_at", "updated_by"])
    log.info("pack %s is now the active pack (%s)", pack, model_name)
    return True


__all__ = [
    "ReembedProgress", "eligible_images", "finish_reembed_if_complete", "missing_images",
    "prepare_reembed", "reembed_image", "reembed_progress", "reembed_step", "start_reembed",
]  # fmt: skip
