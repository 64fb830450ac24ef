"""Calibrating a pack's match threshold on its own gallery (the maths: recognition.domain.calibration).

From the page: `request_calibration` stores a queued CalibrationRun and sends it to a worker; `run_calibration`
(the task) calibrates a bounded sample of the gallery (CALIBRATION_SAMPLE embeddings, sampled per person with a
fixed seed) and stores the figures; the page shows the stored run, and `apply_calibration` applies exactly that
run's proposed threshold. The command line calibrates in its own process (`calibrate`).
"""

from __future__ import annotations

import functools
import logging

import numpy as np
from celery import current_app
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import transaction
from django.utils import timezone

from recognition.conf import recognition_settings
from recognition.domain.calibration import (
    DEFAULT_TARGET_FAR,
    MAX_PROBES,
    Calibration,
    Pool,
    calibrate_arrays,
    sample_per_person,
)
from recognition.domain.matching import MatchPolicy, pool_scores
from recognition.domain.pack import pack_model_name
from recognition.inference import active_pack
from recognition.models import CalibrationRun, FaceEmbedding
from recognition.selectors import searchable_embeddings
from recognition.services.match_policy import PolicyChange, set_match_policy
from recognition.services.matching import pack_policy

log = logging.getLogger("recognition.calibration")

CALIBRATE_TASK = "recognition.tasks.calibrate_pack"
HISTOGRAM_EDGES = np.linspace(-1.0, 1.0, 201)  # stored histograms: counts per 0.01 of cosine similarity
SEED = 0


def pooling(policy: MatchPolicy) -> Pool:
    """The policy's per-person pooling, as the calibration maths take it."""
    return functools.partial(pool_scores, top_k=policy.top_k, max_weight=policy.max_weight)


class NotCalibrated(ValueError):
    """The run cannot be applied: not finished, failed, or without enough data for a proposal."""


def gallery_sample(model_name: str, limit: int, *, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, int]:
    """(vectors, person ids) of at most `limit` searchable embeddings sampled per person, and the gallery's size.
    The ids come back in one aggregate row and only the sample's vectors are read."""
    rows = searchable_embeddings(model_name)
    ids = rows.aggregate(pks=ArrayAgg("pk", order_by="pk"), people=ArrayAgg("person_id", order_by="pk"))
    pks = np.asarray(ids["pks"] or [], dtype=np.int64)
    people = np.asarray(ids["people"] or [], dtype=np.int64)
    keep = sample_per_person(people, limit, seed=seed)
    if keep.size == 0:
        return np.zeros((0, 0), dtype=np.float32), people[:0], int(pks.size)
    chosen = FaceEmbedding.objects.filter(pk__in=pks[keep].tolist()).order_by("pk").values_list("vector", flat=True)
    vectors = np.stack([np.asarray(v, dtype=np.float32) for v in chosen])  # at most `limit` rows
    return vectors, people[keep], int(pks.size)


def calibrate(
    pack: str | None = None,
    *,
    target_far: float = DEFAULT_TARGET_FAR,
    max_probes: int = MAX_PROBES,
    sample: int | None = None,
) -> Calibration:
    """Calibrate a pack (the active one by default) on a sample of its searchable gallery."""
    pack = pack or active_pack().name
    model_name = pack_model_name(pack)
    vectors, person_ids, _ = gallery_sample(model_name, sample or recognition_settings().calibration_sample)
    policy = pack_policy(pack)
    return calibrate_arrays(
        vectors,
        person_ids,
        pooling(policy),
        current_threshold=policy.threshold,
        target_far=target_far,
        max_probes=max_probes,
        pack=pack,
        model_name=model_name,
    )


def apply_threshold(pack: str, threshold: float, *, user=None) -> None:
    """Store a threshold measured by calibration (the command line's --apply)."""
    set_match_policy(pack, via=PolicyChange.CALIBRATION, threshold=threshold, user=user)


# --- runs: requested, run by a worker, shown, applied ---------------------------------------------------------
def request_calibration(
    pack: str, *, target_far: float = DEFAULT_TARGET_FAR, user=None, queue: bool = True
) -> CalibrationRun:
    """A queued run, sent to the workers once the request's transaction commits."""
    run = CalibrationRun.objects.create(
        pack=pack,
        model_name=pack_model_name(pack),
        target_far=target_far,
        requested_by=user if getattr(user, "pk", None) else None,
    )
    if queue:
        transaction.on_commit(lambda: current_app.signature(CALIBRATE_TASK, args=(run.pk,)).delay())
    return run


def run_calibration(run_id: int) -> CalibrationRun:
    """Calibrate a queued run and store its figures (a run already started is left alone)."""
    started = CalibrationRun.objects.filter(pk=run_id, status=CalibrationRun.Status.QUEUED).update(
        status=CalibrationRun.Status.RUNNING, started_at=timezone.now()
    )
    run = CalibrationRun.objects.get(pk=run_id)
    if not started:
        return run
    try:
        model_name = pack_model_name(run.pack)
        vectors, person_ids, run.gallery_size = gallery_sample(model_name, recognition_settings().calibration_sample)
        policy = pack_policy(run.pack)
        result = calibrate_arrays(
            vectors, person_ids, pooling(policy), current_threshold=policy.threshold, target_far=run.target_far,
            pack=run.pack, model_name=model_name,
        )  # fmt: skip
    except Exception as exc:  # stored for the page: a run never stays "running" for ever
        log.exception("calibration run %s failed", run_id)
        run.status, run.error, run.finished_at = (
            CalibrationRun.Status.FAILED,
            f"{type(exc).__name__}: {exc}",
            timezone.now(),
        )
        run.save(update_fields=["status", "error", "finished_at", "gallery_size"])
        return run
    _store(run, result)
    return run


def _store(run: CalibrationRun, result: Calibration) -> None:
    enough = result.genuine.size > 0 and result.impostor.size > 0
    run.model_name = result.model_name
    run.sample_size, run.people, run.probes = result.images, result.people, result.probes
    run.current_threshold = result.current_threshold
    run.proposed_threshold = result.proposed_threshold if enough else None
    run.resolved = result.resolved and enough
    run.figures = {
        "eer": result.eer if enough else None,
        "threshold_at_eer": result.threshold_at_eer if enough else None,
        "tar_at_far": result.tar_at_far,
        "far_at_proposed": result.far_at_proposed,
        "tar_at_proposed": result.tar_at_proposed,
        "stranger_accept_rate": result.stranger_accept_rate,
        "genuine_scores": int(result.genuine.size),
        "impostor_scores": int(result.impostor.size),
    }
    run.histogram = {
        "edges": [float(HISTOGRAM_EDGES[0]), float(HISTOGRAM_EDGES[-1]), HISTOGRAM_EDGES.size - 1],
        "genuine": np.histogram(result.genuine, HISTOGRAM_EDGES)[0].tolist(),
        "impostor": np.histogram(result.impostor, HISTOGRAM_EDGES)[0].tolist(),
    }
    run.status, run.finished_at = CalibrationRun.Status.DONE, timezone.now()
    run.save()


def latest_run(pack: str, target_far: float) -> CalibrationRun | None:
    return CalibrationRun.objects.filter(pack=pack, target_far=target_far).first()


def apply_calibration(run_id: int, *, user=None) -> CalibrationRun:
    """Apply the proposed threshold of this run, exactly as it was shown (never computed again)."""
    run = CalibrationRun.objects.get(pk=run_id)
    if run.status != CalibrationRun.Status.DONE or not run.enough:
        raise NotCalibrated(f"calibration #{run.pk} has no threshold to apply ({run.status})")
    set_match_policy(run.pack, via=PolicyChange.CALIBRATION, threshold=run.proposed_threshold, user=user)
    CalibrationRun.objects.filter(pk=run.pk).update(applied_at=timezone.now())
    return run
