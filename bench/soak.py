"""Soak: live streams, a large enrollment and API traffic at once, for minutes: errors, latency, memory.

    python -m bench.soak --minutes 10 --json OUT.json

What runs at once, against a real daphne and a real Celery worker (prefork, concurrency 1, with --beat, as
`make run` starts them) on a real Redis and PostgreSQL:
  live       --live websocket clients (default 4), each streaming the Hamilton clip's frames (640 px JPEG)
             like live.js: one frame in flight, at most 25 fps, reconnecting a second after a lost connection.
  enrollment one batch of --images (default 2,000) photos made from the identity images with distinct
             bytes (each with its number drawn in a corner), queued at the start like an upload.
  api        --rate requests per second (default 20), open loop (sent on schedule whatever the answers):
             half POST /api/v1/identify/ with an identity photo, a quarter GET /api/v1/attendance/, a quarter
             GET /api/v1/attendance/summaries/. Latency counts from the scheduled send time.
Every 5 s the resident memory (RSS, process and children) of daphne and of the worker is sampled.

Figures: per load, error rate and p50/p95 latency (API also per minute); memory at start/end/max and growth
after warm-up (median RSS of the last minute minus that of the second minute, and the slope from t = 60 s on);
enrollment counts at the end of the load and after
draining, and "lost" images (neither enrolled nor rejected after the drain, or an embedding count other than
one per enrolled image). A database of its own (facesite_bench_soak, dropped afterwards), a Redis and a media
folder in a temporary folder: the platform's data is never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import HAMILTON, REPO_ROOT, bench_database, free_port, percentile, read_frames

FACES = REPO_ROOT.parent / "shared" / "data" / "faces"
BENCH_DB = "facesite_bench_soak"
SAMPLE_EVERY_S = 5.0


# --- inputs -------------------------------------------------------------------------------------------------
def identity_files() -> list[Path]:
    from recognition.uploads import IMAGE_SUFFIXES

    root = FACES / "identities"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def enrollment_items(files: list[Path], count: int) -> list:
    """`count` photos with distinct bytes: identity photo k % n with k drawn as 12 small blocks in its corner,
    re-encoded as JPEG (each photo is decoded once and only the encoded variants are kept)."""
    import cv2

    from recognition.engine.imageio import InvalidImage, decode_image
    from recognition.uploads import UploadItem, clean_person_name

    usable = []
    for path in files:
        try:
            usable.append((path, decode_image(path).shape))
        except InvalidImage:
            pass
    items: list = [None] * count
    for j, (path, _) in enumerate(usable):
        image = decode_image(path)
        for k in range(j, count, len(usable)):
            variant = image.copy()
            for bit in range(12):  # k in 8x8 black/white blocks in the corner: JPEG keeps them apart
                y, x = 8 * (bit // 6), 8 * (bit % 6)
                variant[y : y + 8, x : x + 8] = 255 if k >> bit & 1 else 0
            data = cv2.imencode(".jpg", variant, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
            items[k] = UploadItem(clean_person_name(path.parent.name), f"{path.stem}-{k}.jpg", data)
    assert len({item.data for item in items}) == count, "two variants have the same bytes"
    return items


def live_frames(limit: int = 250) -> list[bytes]:
    """The Hamilton clip (640x360) as the JPEG frames a browser sends."""
    import cv2

    return [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            for frame in read_frames(HAMILTON, (640, 360), limit)]  # fmt: skip


def identify_payloads(files: list[Path], count: int = 12) -> list[bytes]:
    import cv2

    from recognition.engine.imageio import decode_image

    payloads = []
    for path in files[:: max(1, len(files) // count)][:count]:
        image = decode_image(path)
        scale = min(1.0, 640 / max(image.shape[:2]))
        image = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image
        payloads.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes())
    return payloads


# --- loads --------------------------------------------------------------------------------------------------
@dataclass
class LiveStats:
    rtts: list[float] = field(default_factory=list)
    frames: int = 0
    errors: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


async def live_client(index: int, url: str, cookie: str, frames: list[bytes], stop_at: float,
                      stats: LiveStats) -> None:  # fmt: skip
    import websockets

    k, frame_id = index * 60, 0
    while time.monotonic() < stop_at:
        try:
            headers = {"Cookie": cookie}
            async with websockets.connect(url, origin="http://127.0.0.1", additional_headers=headers,
                                          open_timeout=30, max_size=None) as ws:  # fmt: skip
                while time.monotonic() < stop_at:
                    frame_id += 1
                    sent = time.perf_counter()
                    await ws.send(struct.pack(">I", frame_id) + frames[k % len(frames)])
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    rtt = time.perf_counter() - sent
                    if reply.get("type") == "frame":
                        stats.rtts.append(rtt)
                        stats.frames += 1
                        stats.names.update(t["name"] for t in reply["tracks"] if t["confirmed"])
                    k += 1
                    await asyncio.sleep(max(0.0, 0.04 - rtt))  # at most 25 fps, one frame in flight
        except Exception as exc:  # noqa: BLE001 - every failure is a figure; reconnect as live.js does
            stats.errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            await asyncio.sleep(1.0)


def run_live(clients: int, url: str, cookie: str, frames: list[bytes], stop_at: float) -> list[LiveStats]:
    stats = [LiveStats() for _ in range(clients)]

    async def all_clients() -> None:
        await asyncio.gather(*(live_client(i, url, cookie, frames, stop_at, s) for i, s in enumerate(stats)))

    asyncio.run(all_clients())
    return stats


@dataclass
class ApiStats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (scheduled, latency)
    finished_at: float = 0.0
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)


def api_request(base: str, token: str, kind: str, payload: bytes | None, scheduled: float,
                stats: ApiStats) -> None:  # fmt: skip
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    if kind == "identify":
        request = urllib.request.Request(f"{base}/api/v1/identify/", data=payload, method="POST",
                                         headers={**headers, "Content-Type": "image/jpeg"})  # fmt: skip
    elif kind == "attendance":
        request = urllib.request.Request(f"{base}/api/v1/attendance/?page_size=20", headers=headers)
    else:
        request = urllib.request.Request(f"{base}/api/v1/attendance/summaries/?page_size=20", headers=headers)
    error = None
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            if response.status != 200:
                error = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        error = f"HTTP {exc.code}: {exc.read()[:120]!r}"
    except Exception as exc:  # noqa: BLE001 - timeouts and refused connections are errors to report
        error = f"{type(exc).__name__}: {str(exc)[:120]}"
    now = time.monotonic()
    latency = now - scheduled
    with stats.lock:
        stats.latencies[kind].append(latency)
        stats.timeline.append((scheduled, latency))
        stats.finished_at = max(stats.finished_at, now)
        if error:
            stats.errors[kind].append(error)


def run_api(base: str, token: str, rate: float, payloads: list[bytes], stop_at: float) -> ApiStats:
    stats = ApiStats()
    mix = ["identify", "attendance", "identify", "summaries"]
    interval = 1.0 / rate
    scheduled = time.monotonic()
    n = 0
    with ThreadPoolExecutor(max_workers=64) as pool:
        while scheduled < stop_at:
            kind = mix[n % len(mix)]
            pool.submit(api_request, base, token, kind, payloads[n % len(payloads)], scheduled, stats)
            n += 1
            scheduled += interval
            time.sleep(max(0.0, scheduled - time.monotonic()))
    return stats


def tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        process = psutil.Process(pid)
        processes = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def enrollment_counts(batch_id: int) -> dict[str, int]:
    from django.db import close_old_connections
    from django.db.models import Count

    from recognition.models import FaceImage

    close_old_connections()
    rows = FaceImage.objects.filter(enrollment_id=batch_id).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


# --- the run ------------------------------------------------------------------------------------------------
def wait_for(check, timeout: float, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def summarise(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": round(1000 * percentile(values, 50), 1),
            "p95_ms": round(1000 * percentile(values, 95), 1)}  # fmt: skip


def memory_figures(samples: list[dict], key: str, load_s: float) -> dict:
    """RSS at start, end and peak of the load, and its growth after warm-up (models loaded, queues full):
    the median of the last minute minus that of the second minute, and a least-squares slope from t = 60 s."""
    during = [s for s in samples if s["t"] <= load_s]
    values = [s[key] for s in during]
    settled = [s for s in during if s["t"] >= 60] or during
    second = [s[key] for s in settled if s["t"] < 120] or [settled[0][key]]
    last = [s[key] for s in settled if s["t"] >= load_s - 60] or [settled[-1][key]]
    ts, ys = [s["t"] / 60 for s in settled], [s[key] for s in settled]
    slope = 0.0
    if len(ts) > 2:
        mean_t, mean_y = statistics.fmean(ts), statistics.fmean(ys)
        var = sum((t - mean_t) ** 2 for t in ts)
        slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / var if var else 0.0
    return {"start_mb": round(values[0], 1), "end_mb": round(values[-1], 1), "max_mb": round(max(values), 1),
            "growth_mb": round(statistics.median(last) - statistics.median(second), 1),
            "slope_mb_per_min": round(slope, 1)}  # fmt: skip


def per_minute(latencies: list[tuple[float, float]]) -> list[dict]:
    """(scheduled time since start, latency) pairs -> p50/p95 and count per minute of the load."""
    minutes: dict[int, list[float]] = defaultdict(list)
    for at, latency in latencies:
        minutes[int(at // 60)].append(latency)
    return [{"minute": m + 1, **summarise(v)} for m, v in sorted(minutes.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    parser.add_argument("--live", type=int, default=4, help="live websocket clients")
    parser.add_argument("--images", type=int, default=2000, help="images in the enrollment batch")
    parser.add_argument("--rate", type=float, default=20.0, help="API requests per second")
    parser.add_argument(
        "--drain-timeout", type=float, default=1800, help="seconds to wait for the worker after"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, media)")
    args = parser.parse_args(argv)
    if not (FACES / "identities").is_dir():
        parser.error(f"face data not found at {FACES}")

    root = Path(tempfile.mkdtemp(prefix="facesite-soak-"))
    sys.path.insert(0, str(REPO_ROOT))
    from facesite.local.redis import EmbeddedRedis

    redis_server = EmbeddedRedis(root=root / "redis", port=free_port())
    redis_server.ensure_running()
    os.environ.update(REDIS_URL=redis_server.url, FACESITE_MEDIA_ROOT=str(root / "media"),
                      DJANGO_SETTINGS_MODULE="facesite.settings")  # fmt: skip
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from recognition.models import FaceEmbedding, FaceImage, Source
    from recognition.services import enrollment

    children: dict[str, subprocess.Popen] = {}
    databases = contextlib.ExitStack()
    try:
        database_url = databases.enter_context(bench_database(BENCH_DB))
        operator = get_user_model().objects.create_superuser(
            "soak", "soak@example.test", "a-long-soak-password"
        )
        token = Token.objects.create(user=operator).key
        client = Client()
        client.force_login(operator)
        cookie = f"sessionid={client.cookies['sessionid'].value}"

        print("preparing inputs ...", file=sys.stderr)
        files = identity_files()
        items = enrollment_items(files, args.images)
        frames = live_frames()
        payloads = identify_payloads(files)

        env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        port = free_port()
        logs = {name: root / f"{name}.log" for name in ("worker", "daphne")}
        children["worker"] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "facesite", "worker", "--loglevel", "INFO",
             "-Q", "celery,enroll",
             "--concurrency", "1", "--beat", "--schedule", str(root / "beat"), "--hostname", "soak@%h"],
            cwd=REPO_ROOT, env=env, stdout=logs["worker"].open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        children["daphne"] = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "facesite.asgi:application"],
            cwd=REPO_ROOT, env=env, stdout=logs["daphne"].open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(lambda: " ready." in logs["worker"].read_text(), 120, "the worker", children["worker"],
                 logs["worker"])  # fmt: skip
        wait_for(lambda: port_open(port), 120, "daphne", children["daphne"], logs["daphne"])
        base = f"http://127.0.0.1:{port}"

        load_s = args.minutes * 60
        print(f"load for {args.minutes:g} min: {args.live} live clients, {len(items)} images, "
              f"{args.rate:g} API req/s", file=sys.stderr)  # fmt: skip
        start = time.monotonic()
        stop_at = start + load_s
        samples: list[dict] = []
        batch_holder: dict = {}
        done = threading.Event()

        def enroll() -> None:
            t0 = time.monotonic()
            batch = enrollment.start_enrollment(items, source=Source.IMPORT, started_by=operator)
            batch_holder.update(batch=batch, intake_s=time.monotonic() - t0)
            connection.close()

        def sample() -> None:
            while not done.is_set():
                row = {"t": round(time.monotonic() - start, 1),
                       "daphne_mb": tree_rss_mb(children["daphne"].pid),
                       "worker_mb": tree_rss_mb(children["worker"].pid)}  # fmt: skip
                if "batch" in batch_holder:
                    row["enrollment"] = enrollment_counts(batch_holder["batch"].pk)
                samples.append(row)
                done.wait(SAMPLE_EVERY_S)
            connection.close()

        threads = [threading.Thread(target=enroll), threading.Thread(target=sample)]
        for thread in threads:
            thread.start()
        live_result: list[LiveStats] = []
        live_thread = threading.Thread(
            target=lambda: live_result.extend(
                run_live(args.live, base.replace("http", "ws") + "/ws/live/", cookie, frames, stop_at)
            )
        )
        live_thread.start()
        api = run_api(base, token, args.rate, payloads, stop_at)
        live_thread.join()
        threads[0].join()
        at_end_of_load = enrollment_counts(batch_holder["batch"].pk)
        load_elapsed = time.monotonic() - start

        print("draining the enrollment ...", file=sys.stderr)
        batch = batch_holder["batch"]
        drain_start = time.monotonic()
        while FaceImage.objects.filter(enrollment=batch, status=FaceImage.Status.PENDING).exists():
            if time.monotonic() - drain_start > args.drain_timeout or children["worker"].poll() is not None:
                break
            time.sleep(2)
        drain_s = time.monotonic() - drain_start
        done.set()
        threads[1].join()
        final = enrollment_counts(batch.pk)
        batch.refresh_from_db()
        enrolled_ids = FaceImage.objects.filter(enrollment=batch, status=FaceImage.Status.ENROLLED)
        embedded = FaceEmbedding.objects.filter(face_image__in=enrolled_ids)
        per_image = set(embedded.values_list("face_image_id", flat=True))
        stored = sum(final.values())
        not_done = stored - final.get("enrolled", 0) - final.get("rejected", 0)
        wrong_embeddings = abs(embedded.count() - final.get("enrolled", 0)) + (final.get("enrolled", 0)
                                                                               - len(per_image))  # fmt: skip

        frames_all = [r for s in live_result for r in s.rtts]
        api_all = [v for values in api.latencies.values() for v in values]
        api_errors = sum(len(v) for v in api.errors.values())
        live_errors = sum(len(s.errors) for s in live_result)
        figures = {
            "setup": {"minutes": args.minutes, "live_clients": args.live, "images": len(items),
                      "api_rate": args.rate, "cpus": os.cpu_count(), "load_s": round(load_elapsed, 1),
                      "pack": settings.FACE_MODEL_PACK, "worker": "prefork concurrency 1 + beat"},
            "live": {**summarise(frames_all),
                     "fps_per_client": round(len(frames_all) / load_s / max(1, args.live), 2),
                     "disconnects": live_errors,
                     "error_examples": [e for s in live_result for e in s.errors][:5],
                     "names": sorted(set().union(*(s.names for s in live_result))) if live_result else []},
            "api": {"requests": len(api_all), "errors": api_errors,
                    "achieved_rps": round(len(api_all) / max(1e-9, api.finished_at - start), 2),
                    "per_minute": per_minute([(at - start, lat) for at, lat in api.timeline]),
                    "error_rate": round(api_errors / max(1, len(api_all)), 4), **summarise(api_all),
                    "by_kind": {k: {**summarise(v), "errors": len(api.errors.get(k, []))}
                                for k, v in api.latencies.items()},
                    "error_examples": [e for v in api.errors.values() for e in v][:5]},
            "enrollment": {"submitted": len(items), "stored": stored, "refused_at_intake": len(batch.errors),
                           "duplicates": batch.duplicates, "intake_s": round(batch_holder["intake_s"], 1),
                           "at_end_of_load": at_end_of_load, "final": final, "drain_s": round(drain_s, 1),
                           "state": batch.state, "lost": not_done + (len(items) - stored - len(batch.errors)
                                                                     - batch.duplicates),
                           "embedding_mismatches": wrong_embeddings},
            "memory": {"daphne": memory_figures(samples, "daphne_mb", load_s),
                       "worker": memory_figures(samples, "worker_mb", load_s),
                       "samples": [{k: v for k, v in s.items() if k != "enrollment"} for s in samples]},
            "processes_alive": {name: p.poll() is None for name, p in children.items()},
            "log_tracebacks": {name: log.read_text().count("Traceback") for name, log in logs.items()},
        }  # fmt: skip
        print_figures(figures)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        return 0
    finally:
        for name in ("daphne", "worker"):
            process = children.get(name)
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        databases.close()
        redis_server.stop()
        if args.keep:
            print(f"kept {root} (daphne.log, worker.log, media)", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def print_figures(f: dict) -> None:
    live, api, enr, mem = f["live"], f["api"], f["enrollment"], f["memory"]
    print(f"load {f['setup']['load_s']} s on {f['setup']['cpus']} CPUs")
    print(
        f"live    {live['n']} frames, {live['fps_per_client']} fps/client, p50 {live['p50_ms']} ms, "
        f"p95 {live['p95_ms']} ms, disconnects {live['disconnects']}, names {live['names']}"
    )
    print(
        f"api     {api['requests']} requests, errors {api['errors']} ({100 * api['error_rate']:.2f}%), "
        f"p50 {api['p50_ms']} ms, p95 {api['p95_ms']} ms"
    )
    for kind, k in api["by_kind"].items():
        print(f"  {kind:<11} n {k['n']}, p50 {k['p50_ms']} ms, p95 {k['p95_ms']} ms, errors {k['errors']}")
    print(f"  achieved {api['achieved_rps']} req/s; per minute p50/p95 ms: "
          + ", ".join(f"{m['p50_ms']:.0f}/{m['p95_ms']:.0f}" for m in api["per_minute"]))
    print(
        f"enroll  {enr['submitted']} submitted, intake {enr['intake_s']} s, "
        f"at end of load {enr['at_end_of_load']},"
        f" after {enr['drain_s']} s drain {enr['final']}, state {enr['state']}, lost {enr['lost']}, "
        f"embedding mismatches {enr['embedding_mismatches']}"
    )
    for name in ("daphne", "worker"):
        m = mem[name]
        print(
            f"rss     {name:<7} start {m['start_mb']} MB, end {m['end_mb']} MB, max {m['max_mb']} MB, "
            f"growth {m['growth_mb']} MB (last minute - second minute), {m['slope_mb_per_min']} MB/min"
        )
    print(f"alive   {f['processes_alive']}, tracebacks in logs {f['log_tracebacks']}")


if __name__ == "__main__":
    sys.exit(main())
