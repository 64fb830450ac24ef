"""Enrollment speed: one real Celery worker end to end against the face engine alone, on the same files.

    python -m bench.enroll --data ../shared/data/faces/identities --json OUT.json

enroll.worker_ips: images per second through the platform: the batch is stored (intake, timed apart), its chunks
    are queued on a real Redis and one Celery worker process (solo pool, like `make run`) reads each stored file,
    decodes, detects, checks quality, embeds and writes to a real PostgreSQL. Timed from queueing to the last
    image's processed_at.
enroll.engine_ips: images per second of read file + decode_image + FaceAnalyzer.analyze(emotion=False) in this
    process on the same files, nothing else.
enroll.ratio: worker_ips / engine_ips. Both build their sessions from the same settings (INFERENCE_DEVICE,
    ORT_INTRA_OP_THREADS, ORT_ALLOW_SPINNING, FACE_MODEL_PACK), so the onnxruntime options are the same. They take
    turns on blocks of --block images (each runs while the other is idle, and both see the same background load).
    Per image: median and p95 ms (worker: gaps between consecutive processed_at).

It uses a database of its own (facesite_bench_enroll, dropped afterwards), a Redis and a media folder in a
temporary folder: the platform's data is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import REPO_ROOT, bench_database, free_port, percentile

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "faces" / "identities"
BENCH_DB = "facesite_bench_enroll"


def image_files(data: Path) -> list[Path]:
    from recognition.uploads import IMAGE_SUFFIXES

    return sorted(p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(data).parts))  # fmt: skip


def engine_pass(files: list[Path], analyzer) -> list[float]:
    """Seconds per image of read + decode + analyze, in this process."""
    from recognition.engine.imageio import InvalidImage, decode_image

    times = []
    for path in files:
        t0 = time.perf_counter()
        try:
            analyzer.analyze(decode_image(path.read_bytes()), emotion=False)
        except InvalidImage:
            pass  # the worker rejects it after the same decode attempt
        times.append(time.perf_counter() - t0)
    return times


def worker_pass(files: list[Path], timeout: float) -> dict:
    """Store the files as one batch (intake, timed apart), queue it and wait for the worker. Per image: the gaps
    between consecutive processed_at (the first from the moment of queueing)."""
    from recognition.models import FaceImage, Source
    from recognition.services import enrollment
    from recognition.uploads import UploadItem, clean_person_name

    items = [UploadItem(clean_person_name(path.parent.name), path.name, path.read_bytes()) for path in files]
    t_intake = time.perf_counter()
    batch = enrollment.start_enrollment(items, source=Source.IMPORT, queue=False)
    intake_s = time.perf_counter() - t_intake
    ids = list(batch.images.order_by("pk").values_list("pk", flat=True))
    queued_at = time.time()
    enrollment.queue_images(ids)
    deadline = time.monotonic() + timeout
    while batch.images.filter(status=FaceImage.Status.PENDING).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not finish {len(ids)} images in {timeout:.0f} s")
        time.sleep(0.25)  # seldom: the end time comes from processed_at, and polling takes CPU from the worker
    done = sorted(t.timestamp() for t in batch.images.values_list("processed_at", flat=True))
    statuses = list(batch.images.values_list("status", flat=True))
    return {
        "gaps": [b - a for a, b in zip([queued_at, *done[:-1]], done, strict=True)],
        "seconds": done[-1] - queued_at if done else 0.0, "intake_seconds": intake_s,
        "enrolled": statuses.count("enrolled"), "rejected": statuses.count("rejected"),
        "refused": [error["file"] for error in batch.errors], "duplicates": batch.duplicates,
    }  # fmt: skip


def warm_up_worker(first_image: Path, timeout: float) -> None:
    """Load the worker's models with a mirrored copy of a real photo (other bytes, so no conflict later)."""
    import cv2

    from recognition.engine.imageio import decode_image
    from recognition.models import FaceImage, Source
    from recognition.services import enrollment
    from recognition.uploads import UploadItem

    ok, encoded = cv2.imencode(".png", cv2.flip(decode_image(first_image.read_bytes()), 1))
    batch = enrollment.start_enrollment([UploadItem("bench warm-up", "warm.png", encoded.tobytes())],
                                        source=Source.IMPORT)  # fmt: skip
    deadline = time.monotonic() + timeout
    while batch.images.filter(status=FaceImage.Status.PENDING).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not process the warm-up image; is it running?")
        time.sleep(0.1)


def clear_gallery() -> None:
    from recognition.models import Enrollment, FaceImage, Person
    from recognition.services.lifecycle import purge_images

    purge_images(FaceImage.objects.exclude(person__display_name="bench warm-up"))
    Person.objects.filter(images__isnull=True).delete()
    Enrollment.objects.filter(images__isnull=True).delete()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a dataset folder (person_name/image)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--pack", help="model pack (default: FACE_MODEL_PACK)")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the data; medians are reported")
    parser.add_argument("--block", type=int, default=32, help="images per engine/worker turn")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    data = args.data.resolve()
    if not data.is_dir():
        parser.error(f"{data} is not a folder")

    root = Path(tempfile.mkdtemp(prefix="facesite-bench-enroll-"))
    # Before Django reads its settings: this run's own Redis (so Celery is not eager) and media folder.
    sys.path.insert(0, str(REPO_ROOT))
    from facesite.local.redis import EmbeddedRedis

    redis_server = EmbeddedRedis(root=root / "redis", port=free_port())
    redis_server.ensure_running()
    env_overrides = {"REDIS_URL": redis_server.url, "FACESITE_MEDIA_ROOT": str(root / "media"),
                     "DJANGO_SETTINGS_MODULE": "facesite.settings"}  # fmt: skip
    if args.pack:
        env_overrides["FACE_MODEL_PACK"] = args.pack
    os.environ.update(env_overrides)

    import django

    django.setup()
    from django.conf import settings

    worker = None
    databases = contextlib.ExitStack()
    try:
        database_url = databases.enter_context(bench_database(BENCH_DB))

        from recognition.engine.imageio import decode_image
        from recognition.inference import active_pack, face_analyzer

        files = image_files(data)
        analyzer = face_analyzer()
        analyzer.analyze(decode_image(files[0].read_bytes()), emotion=False)  # warm-up, not timed

        log = (root / "worker.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "facesite", "worker", "--pool", "solo", "-Q", "enroll",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO_ROOT, env={**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        warm_up_worker(files[0], timeout=120)

        # Engine and worker take turns on blocks of the data, so that both see the same background load.
        blocks = [files[i : i + args.block] for i in range(0, len(files), args.block)]
        rounds = []
        for round_no in range(args.rounds):
            engine_times: list[float] = []
            worker_runs: list[dict] = []
            for block in blocks:
                engine_times += engine_pass(block, analyzer)
                worker_runs.append(worker_pass(block, args.timeout))
            clear_gallery()
            worker_gaps = [gap for run in worker_runs for gap in run["gaps"]]
            worker_s = sum(run["seconds"] for run in worker_runs)
            intake_s = sum(run["intake_seconds"] for run in worker_runs)
            rounds.append({
                "engine_ips": len(engine_times) / sum(engine_times), "worker_ips": len(worker_gaps) / worker_s,
                "engine_times": engine_times, "worker_gaps": worker_gaps, "intake_ips": len(worker_gaps) / intake_s,
                "e2e_ips": len(worker_gaps) / (intake_s + worker_s),
                "enrolled": sum(run["enrolled"] for run in worker_runs),
                "rejected": sum(run["rejected"] for run in worker_runs),
                "refused": [name for run in worker_runs for name in run["refused"]],
            })  # fmt: skip
            last = rounds[-1]
            print(f"round {round_no + 1}: engine {last['engine_ips']:.2f} img/s, worker {last['worker_ips']:.2f} "
                  f"img/s, ratio {last['worker_ips'] / last['engine_ips']:.3f}", file=sys.stderr)  # fmt: skip

        def median_of(key: str) -> float:
            return statistics.median(r[key] for r in rounds)

        engine_all = [t for r in rounds for t in r["engine_times"]]
        worker_all = [t for r in rounds for t in r["worker_gaps"]]
        worker_ips, engine_ips = median_of("worker_ips"), median_of("engine_ips")
        figures = {
            "enroll": {
                "worker_ips": round(worker_ips, 3),
                "engine_ips": round(engine_ips, 3),
                "ratio": round(worker_ips / engine_ips, 3),
                "ratio_per_round": [round(r["worker_ips"] / r["engine_ips"], 3) for r in rounds],
                "worker_ms_median": round(1000 * statistics.median(worker_all), 1),
                "worker_ms_p95": round(1000 * percentile(worker_all, 95), 1),
                "engine_ms_median": round(1000 * statistics.median(engine_all), 1),
                "engine_ms_p95": round(1000 * percentile(engine_all, 95), 1),
                "intake_ips": round(median_of("intake_ips"), 2),
                "e2e_ips": round(median_of("e2e_ips"), 3),
                "images_worker": len(rounds[0]["worker_gaps"]),
                "images_engine": len(rounds[0]["engine_times"]),
                "enrolled": rounds[0]["enrolled"],
                "rejected": rounds[0]["rejected"],
                "refused_at_intake": rounds[0]["refused"],
            },
            "setup": {
                "data": str(data), "pack": active_pack().name, "rounds": args.rounds, "block": args.block,
                "inference_device": settings.INFERENCE_DEVICE, "ort_intra_op_threads": settings.ORT_INTRA_OP_THREADS,
                "ort_allow_spinning": settings.ORT_ALLOW_SPINNING, "enroll_chunk_size": settings.ENROLL_CHUNK_SIZE,
                "worker": "celery solo pool, 1 process, queue enroll", "cpus": os.cpu_count(),
            },  # fmt: skip
        }
        e = figures["enroll"]
        print(f"{'path':<8} {'img/s':>8} {'median ms':>10} {'p95 ms':>8}  images")
        print(f"{'engine':<8} {e['engine_ips']:>8.2f} {e['engine_ms_median']:>10.1f} {e['engine_ms_p95']:>8.1f}  "
              f"{e['images_engine']}")
        print(f"{'worker':<8} {e['worker_ips']:>8.2f} {e['worker_ms_median']:>10.1f} {e['worker_ms_p95']:>8.1f}  "
              f"{e['images_worker']} ({e['enrolled']} enrolled, {e['rejected']} rejected)")
        print(f"ratio worker/engine: {e['ratio']:.3f} (target >= 0.80); intake {e['intake_ips']:.1f} img/s; "
              f"end to end with intake {e['e2e_ips']:.2f} img/s")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        databases.close()
        redis_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
