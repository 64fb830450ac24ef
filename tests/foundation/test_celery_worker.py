"""A task executed by a real Celery worker process over the Redis broker (not eager mode)."""

import pytest
from celery import Celery


@pytest.mark.services
def test_real_worker_runs_a_task_over_redis(celery_worker_process, redis_url: str) -> None:
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    result = client.send_task("facesite.health_check")
    status = result.get(timeout=60)
    assert status["database"]["ok"] is True
    assert status["queue"] == "celery"  # the worker is not in eager mode
    assert celery_worker_process.poll() is None


@pytest.mark.django_db
def test_eager_mode_without_redis_runs_in_process() -> None:
    from facesite.celery import app
    from facesite.tasks import health_check

    # Without REDIS_URL (as in this test process) tasks run in-process; no broker is needed.
    assert app.conf.task_always_eager is True
    assert health_check.delay().get(timeout=10)["queue"] == "eager"
