"""Celery tasks of the identity domain (queue `enroll`; routable to GPU workers). Thin: they call services."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from recognition.inference import face_analyzer
from recognition.services import enrollment


@shared_task(name="recognition.tasks.enroll_images", acks_late=True, reject_on_worker_lost=True)
def enroll_images(image_ids: list[int]) -> None:
    enrollment.enroll_images(image_ids, face_analyzer())


@worker_ready.connect
def resume_after_restart(**_kwargs) -> None:
    """A worker killed mid-batch left pending images behind; whoever starts next picks them up."""
    enrollment.resume_unfinished_enrollments()
