"""`make run`: start the whole platform on this machine and stop all of it cleanly on Ctrl-C.

    python -m facesite.local.run

Starts the embedded PostgreSQL (unless DATABASE_URL is set) and Redis (unless REDIS_URL is set), applies
migrations, creates the first admin account, then runs a Celery worker (with beat, for the scheduled retention
purges), one camera worker (`manage.py run_cameras`: the IP cameras registered in the admin) and daphne until
interrupted.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

log = logging.getLogger("facesite.local")

STOP_GRACE_S = 20


def _child_env(redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
    env["PYTHONUNBUFFERED"] = "1"
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def web_env(env: dict[str, str]) -> dict[str, str]:
    """The web server's environment: each ONNX call on its caller's thread unless ORT_INTRA_OP_THREADS says
    otherwise. daphne runs every browser stream's inference on a thread of its own, so eight streams already use
    both cores; sharing onnxruntime's per-call pool between them cost 0.4-1 fps per stream at 8 clients and
    nothing at 1 (bench/RESULTS.md, websocket at 8 clients)."""
    return {**env, "ORT_INTRA_OP_THREADS": env.get("ORT_INTRA_OP_THREADS", "1")}


def _prepare(redis_url_holder: list[str], stoppers: list[Callable[[], None]]) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from facesite.local.errors import ensure_port_free, ensure_writable
    from facesite.local.postgres import EmbeddedPostgres
    from facesite.local.redis import EmbeddedRedis

    ensure_writable(settings.VAR_DIR)
    ensure_port_free(settings.PORT, what="the web server", env_var="PORT", host=settings.BIND_ADDRESS)
    if settings.EMBEDDED_POSTGRES:
        postgres = EmbeddedPostgres.from_settings()
        postgres.ensure_running()
        stoppers.append(postgres.stop)
    else:
        log.info("using the database at DATABASE_URL; starting no PostgreSQL of our own")
    if settings.REDIS_URL:
        log.info("using the Redis at REDIS_URL; starting no Redis of our own")
        redis_url_holder.append(settings.REDIS_URL)
    else:
        redis = EmbeddedRedis.from_settings()
        redis.ensure_running()
        stoppers.append(redis.stop)
        redis_url_holder.append(redis.url)
    call_command("migrate", interactive=False, verbosity=1)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("ensure_admin")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
    import django

    django.setup()
    from django.conf import settings

    from facesite.local.errors import ServiceError

    stoppers: list[Callable[[], None]] = []
    redis_url: list[str] = []
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        _prepare(redis_url, stoppers)
        env = _child_env(redis_url[0])
        python = sys.executable
        # Children get their own session so a terminal Ctrl-C reaches only us; we stop them in order.
        children["worker"] = subprocess.Popen(
            [python, "-m", "celery", "-A", "facesite", "worker", "--loglevel", "INFO",
             "-Q", ",".join(settings.CELERY_WORKER_QUEUES), "--concurrency", str(settings.CELERY_WORKER_CONCURRENCY),
             "--hostname", "worker@%h", "--beat"],  # --beat: the retention purges (CELERY_BEAT_SCHEDULE)
            env=env, start_new_session=True,
        )  # fmt: skip
        # One camera worker; more (here or on other machines) share the cameras through leases in the database.
        children["cameras"] = subprocess.Popen(
            [python, "manage.py", "run_cameras"], cwd=settings.BASE_DIR, env=env, start_new_session=True,
        )  # fmt: skip
        children["web"] = subprocess.Popen(
            [python, "-m", "daphne", "-b", settings.BIND_ADDRESS, "-p", str(settings.PORT),
             "facesite.asgi:application"],
            env=web_env(env), start_new_session=True,
        )  # fmt: skip
        log.info("serving on http://%s:%s/ (admin: /admin/); Ctrl-C stops everything",
                 settings.BIND_ADDRESS, settings.PORT)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping the platform", name, child.returncode)
                    stopping, code = True, 1
                    break
            time.sleep(0.3)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        _stop_children(children)
        for stop in reversed(stoppers):
            try:
                stop()
            except ServiceError as exc:
                print(f"error while stopping: {exc}", file=sys.stderr)
                code = code or 1
    return code


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    for name in ("web", "cameras", "worker"):  # stop taking requests first, then let the worker finish its task
        child = children.get(name)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %ss; killing it", name, STOP_GRACE_S)
            child.kill()
            child.wait()


if __name__ == "__main__":
    sys.exit(main())
