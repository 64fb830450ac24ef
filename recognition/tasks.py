"""Celery tasks of the identity domain (queue `enroll`; routable to GPU workers). Thin: they call services."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from recognition.conf import recognition_settings
from recognition.inference import face_analyzer
from recognition.services import calibration, enrollment, lifecycle, reembed


@shared_task(name="recognition.tasks.enroll_images", acks_late=True, reject_on_worker_lost=True)
def enroll_images(image_ids: list[int]) -> None:
    enrollment.enroll_images(image_ids, face_analyzer())


@shared_task(name="recognition.tasks.reembed_pack", acks_late=True, reject_on_worker_lost=True)
def reembed_pack(pack: str, allow_failures: bool = False, started_by_id: int | None = None) -> None:
    """One step of re-embedding the gallery with `pack`: a chunk, then it queues the next step or switches."""
    reembed.reembed_step(pack, face_analyzer(pack), allow_failures=allow_failures, started_by_id=started_by_id)


@shared_task(name="recognition.tasks.calibrate_pack")
def calibrate_pack(run_id: int) -> None:
    """Calibrate a requested CalibrationRun (a bounded sample of the gallery) and store its figures."""
    calibration.run_calibration(run_id)


@worker_ready.connect
def resume_after_restart(**_kwargs) -> None:
    """A worker killed mid-batch left pending images behind; whoever starts next picks them up."""
    enrollment.resume_unfinished_enrollments()


@shared_task(name="recognition.tasks.resume_enrollments")
def resume_enrollments() -> int:
    """Queue images left pending (e.g. uploaded while the queue was down); run by Celery beat."""
    return enrollment.resume_unfinished_enrollments(older_than_s=recognition_settings().enroll_resume_interval_s)


# --- retention (run by Celery beat: CELERY_BEAT_SCHEDULE in settings) -------------------------------------
@shared_task(name="recognition.tasks.purge_recycle_bin")
def purge_recycle_bin() -> int:
    """Purge images that have been in the recycle bin longer than RECYCLE_BIN_RETENTION_DAYS."""
    return lifecycle.purge_expired(recognition_settings().recycle_bin_retention_days)
