"""The live websocket under load: N concurrent browser-like clients against daphne.

    python -m bench ws [--clients 1,4,8] [--seconds 60] [--json OUT.json]
    python -m bench ws --url ws://HOST:PORT/ws/live/ --cookie 'sessionid=...' [--pid DAPHNE_PID]

Without --url the bench starts its own daphne (one process, as `make run` serves) on a database of its own
(facesite_bench_ws, made with the project's migrations, dropped afterwards) with the Hamilton clip's two
performers enrolled from their identity photos, and logs in an operator (a kiosk: presence is recorded).
Each client behaves like static/recognition/live.js: 640x360 JPEG frames of the real clip (quality 70, each
client starting at another frame), one frame in flight (the next is sent when the reply comes, at most every
33 ms, i.e. a 30 fps camera; a frame without a reply in 2 s is given up and the next sent).
Per level (1, 4, 8 clients, new connections each, the same server): per-client fps (replies/s), end-to-end
latency (send -> reply) median/p95, the server's own "ms", dropped frames (the server's count: frames replaced
while one was processed) and camera frames never sent (1 - sent / (30 x seconds)), the server's CPU (% of one
core) and memory (RSS) sampled with psutil on the daphne pid, and RSS growth over the level and the whole run.
The first --warmup frames of every client are not timed.
With --inference-workers N the frames are analysed in N Channels workers (`manage.py runworker`, through a Redis
of the bench's own: LIVE_INFERENCE_CHANNELS), not in daphne; the server's CPU and memory then include them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import (
    CAST,
    HAMILTON,
    REPO_ROOT,
    SHARED_FACES,
    BenchSetupError,
    LoadMonitor,
    bench_database,
    free_port,
    load1,
    machine,
    median,
    pack_models,
    print_table,
    read_frames,
    require_models,
    setup_django,
    summary_ms,
    write_json,
)

BENCH_DB = "facesite_bench_ws"
CAMERA_FPS = 30
MIN_INTERVAL_S = 0.033
REPLY_TIMEOUT_S = 2.0


def encode_frames(limit: int = 300) -> list[bytes]:
    import cv2

    frames = read_frames(HAMILTON, (640, 360), limit)
    return [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes() for f in frames]


# ---- a client ----------------------------------------------------------------------------------------------
async def client(
    url: str,
    cookie: str,
    jpegs: list[bytes],
    offset: int,
    seconds: float,
    warmup: int,
    ready: list,
    start: asyncio.Event,
) -> dict:
    import websockets

    latencies, server_ms, timeouts = [], [], 0
    sent = replies = 0
    dropped = 0
    async with websockets.connect(
        url, origin="http://127.0.0.1", additional_headers={"Cookie": cookie}, max_size=2**22
    ) as ws:
        frame_id = 0

        async def one(timed: bool) -> None:
            nonlocal frame_id, sent, replies, timeouts, dropped
            frame_id += 1
            jpeg = jpegs[(offset + frame_id) % len(jpegs)]
            t0 = time.perf_counter()
            await ws.send(struct.pack(">I", frame_id) + jpeg)
            if timed:
                sent += 1
            deadline = t0 + REPLY_TIMEOUT_S
            while True:
                try:
                    reply = json.loads(
                        await asyncio.wait_for(ws.recv(), max(0.001, deadline - time.perf_counter()))
                    )
                except TimeoutError:
                    timeouts += timed
                    return
                if reply.get("type") == "frame" and reply.get("frame_id") == frame_id:
                    break
            if timed:
                replies += 1
                latencies.append(time.perf_counter() - t0)
                server_ms.append(reply["ms"] / 1000)
                dropped = reply.get("dropped", 0)

        for _ in range(warmup):
            await one(False)
        ready.append(offset)
        await start.wait()
        began = time.perf_counter()
        last_send = 0.0
        while time.perf_counter() - began < seconds:
            wait = last_send + MIN_INTERVAL_S - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            last_send = time.perf_counter()
            await one(True)
        elapsed = time.perf_counter() - began
    return {
        "replies": replies,
        "sent": sent,
        "seconds": elapsed,
        "latencies": latencies,
        "server_s": server_ms,
        "timeouts": timeouts,
        "dropped": dropped,
    }


class Sampler:
    """CPU (% of one core) and RSS of the server process, sampled in a thread every `every` seconds."""

    def __init__(self, pid: int | None, every: float = 0.5, others: tuple[int, ...] = ()) -> None:
        """`others`: more server processes (Channels inference workers) counted with the server."""
        import psutil

        self.process = psutil.Process(pid) if pid else None
        self.others = [psutil.Process(other) for other in others]
        self.every = every
        self.samples: list[tuple[float, float, float]] = []  # (time, cpu seconds, rss MB)

    def sample(self) -> tuple[float, float, float] | None:
        if self.process is None:
            return None
        times = self.process.cpu_times()
        cpu = times.user + times.system
        rss = self.process.memory_info().rss / 2**20
        for child in self.process.children(recursive=True):
            rss += child.memory_info().rss / 2**20
        for other in self.others:
            other_times = other.cpu_times()
            cpu += other_times.user + other_times.system
            rss += other.memory_info().rss / 2**20
        point = (time.perf_counter(), cpu, rss)
        self.samples.append(point)
        return point

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                pass


async def level(url: str, cookie: str, jpegs: list[bytes], clients: int, args, sampler: Sampler) -> dict:
    start, stop, ready = asyncio.Event(), asyncio.Event(), []
    tasks = [
        asyncio.create_task(
            client(
                url, cookie, jpegs, k * len(jpegs) // max(1, clients), args.seconds, args.warmup, ready, start
            )
        )
        for k in range(clients)
    ]
    # The clock starts when every client has connected and sent its warm-up frames (or one has failed).
    while len(ready) < clients and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    first = sampler.sample()
    load_before = load1()
    sampling = asyncio.create_task(sampler.run(stop))
    start.set()
    results = await asyncio.gather(*tasks)
    stop.set()
    await sampling
    last = sampler.sample()
    latencies = [x for r in results for x in r["latencies"]]
    fps = [r["replies"] / r["seconds"] for r in results]
    out = {
        "clients": clients,
        "fps_per_client_median": round(median(fps), 2),
        "fps_per_client_min": round(min(fps), 2),
        "fps_total": round(sum(fps), 2),
        "latency_p50_ms": summary_ms(latencies)["median_ms"],
        "latency_p95_ms": summary_ms(latencies)["p95_ms"],
        "server_ms_p50": summary_ms([x for r in results for x in r["server_s"]])["median_ms"],
        "server_ms_p95": summary_ms([x for r in results for x in r["server_s"]])["p95_ms"],
        "server_dropped_ratio": round(
            sum(r["dropped"] for r in results) / max(1, sum(r["sent"] for r in results)), 4
        ),
        "camera_skip_ratio": round(
            1 - sum(r["sent"] for r in results) / (CAMERA_FPS * sum(r["seconds"] for r in results)), 3
        ),
        "timeouts": sum(r["timeouts"] for r in results),
        "seconds": args.seconds,
        "load1": round(max(load_before, load1()), 2),
    }
    if first and last:
        window = [s for s in sampler.samples if first[0] <= s[0] <= last[0]]
        out.update(
            {
                "server_cpu_pct": round(100 * (last[1] - first[1]) / (last[0] - first[0]), 1),
                "server_rss_mb_start": round(first[2], 1),
                "server_rss_mb_end": round(last[2], 1),
                "server_rss_mb_max": round(max(s[2] for s in window), 1),
                "server_rss_growth_mb": round(last[2] - first[2], 1),
                "server_rss_slope_mb_per_min_2nd_half": rss_slope(window[len(window) // 2 :]),
            }
        )
    return out


def rss_slope(samples: list[tuple[float, float, float]]) -> float | None:
    """Least-squares slope of RSS over time in MB/min (the second half of a level: past the warm-up, a leak
    still shows as a steady climb)."""
    if len(samples) < 4:
        return None
    import numpy as np

    t = np.array([s[0] for s in samples])
    rss = np.array([s[2] for s in samples])
    return round(float(np.polyfit(t - t[0], rss, 1)[0]) * 60, 2)


# ---- the bench's own server --------------------------------------------------------------------------------
def enroll_cast() -> None:
    """The clip's performers, embedded from their identity photos by the engine, stored as enrollment does."""
    import glob

    from recognition.engine.imageio import decode_image
    from recognition.inference import face_analyzer
    from recognition.models import FaceEmbedding, FaceImage, Person

    analyzer = face_analyzer()
    for folder in CAST.values():
        name = folder.removeprefix("facerec_")
        person = Person.objects.create(display_name=name, slug=name.replace("_", "-"))
        files = sorted(glob.glob(str(SHARED_FACES / "identities" / folder / "*")))
        if not files:
            raise BenchSetupError(f"identity photos not found in {SHARED_FACES / 'identities' / folder}")
        for k, file in enumerate(files):
            faces = analyzer.analyze(decode_image(Path(file)), emotion=False, max_faces=1)
            if not faces:
                continue
            image = FaceImage.objects.create(
                person=person,
                sha256=f"{name}{k}".ljust(64, "0")[:64],
                source="import",
                status=FaceImage.Status.ENROLLED,
                file=f"bench/{name}{k}.jpg",
            )
            FaceEmbedding.objects.create(
                face_image=image,
                person=person,
                model_name=analyzer.embedder.name,
                vector=faces[0].embedding.tolist(),
            )


def operator_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user(
        "bench-kiosk", password="bench-not-a-real-password", is_staff=True
    )
    browser = Client()
    browser.force_login(user)
    return f"sessionid={browser.cookies['sessionid'].value}"


def start_daphne(
    database_url: str, media: Path, log: Path, conn_max_age: int | None = None, extra_env: dict | None = None
) -> tuple[subprocess.Popen, int]:
    from facesite.local.errors import port_is_open

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    if conn_max_age is not None:  # django-environ reads it from the URL
        database_url += f"?conn_max_age={conn_max_age}"
    env.setdefault("ORT_INTRA_OP_THREADS", "1")  # as `make run` and compose start the web server
    env.update(
        DATABASE_URL=database_url,
        FACESITE_MEDIA_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="facesite.settings",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "facesite.asgi:application"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not port_is_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("daphne did not start:\n" + log.read_text()[-2000:])
        time.sleep(0.1)
    return process, port


def start_redis(root: Path):
    """A Redis of the bench's own (the channel layer between daphne and the inference workers)."""
    from facesite.local.redis import EmbeddedRedis

    root.mkdir(parents=True, exist_ok=True)
    redis = EmbeddedRedis(root=root, port=free_port())
    redis.ensure_running()
    return redis


def start_inference_workers(database_url: str, root: Path, server_env: dict, count: int) -> list[subprocess.Popen]:
    """`manage.py runworker live-inference-K` for K < count, on the bench's database and Redis."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=database_url, FACESITE_MEDIA_ROOT=str(root / "media"), PYTHONUNBUFFERED="1",
               DJANGO_SETTINGS_MODULE="facesite.settings", **server_env)  # fmt: skip
    workers = []
    for k in range(count):
        log = (root / f"worker-{k}.log").open("w")
        workers.append(subprocess.Popen([sys.executable, "manage.py", "runworker", f"live-inference-{k}"],
                                        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
    time.sleep(3)  # they load the models on their first frame; the bench's warm-up frames cover that
    for k, worker in enumerate(workers):
        if worker.poll() is not None:
            raise RuntimeError(f"inference worker {k} exited: " + (root / f"worker-{k}.log").read_text()[-2000:])
    return workers


def start_profiler(pid: int, out: Path | None) -> subprocess.Popen | None:
    """py-spy recording the server for the whole run (collapsed stacks, or an SVG when OUT ends in .svg)."""
    if out is None:
        return None
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise BenchSetupError("--py-spy needs py-spy (pip install --no-deps -r requirements-bench.txt)")
    fmt = "flamegraph" if str(out).endswith(".svg") else "raw"
    return subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--rate", "100", "--format", fmt, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        try:
            profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait()


def run_levels(url: str, cookie: str, pid: int | None, args, workers: tuple[int, ...] = ()) -> dict:
    jpegs = encode_frames()
    sampler = Sampler(pid, others=workers)
    load = LoadMonitor()
    figures = {}
    baseline = sampler.sample()
    for clients in args.clients:
        load.mark()
        key = str(clients) if str(clients) not in figures else f"{clients}#{len(figures) + 1}"  # repeated
        f = figures[key] = asyncio.run(level(url, cookie, jpegs, clients, args, sampler))
        print(
            f"  {clients} clients: {f['fps_per_client_median']} fps each (min {f['fps_per_client_min']}), "
            f"p95 {f['latency_p95_ms']} ms, rss {f.get('server_rss_mb_end')} MB (load {f['load1']})",
            file=sys.stderr,
        )
    load.mark()
    end = sampler.sample()
    run = {}
    if baseline and end:
        run = {
            "server_rss_mb_after_first_warmup": next(iter(figures.values())).get("server_rss_mb_start"),
            "server_rss_mb_end": round(end[2], 1),
            "server_rss_growth_mb": round(end[2] - next(iter(figures.values()))["server_rss_mb_start"], 1),
        }
    return {
        "ws": figures,
        "ws_run": run,
        "setup": {
            **machine(),
            **load.as_dict(),
            "url": url,
            "pid": pid,
            "frames": "Hamilton clip 640x360 JPEG q70",
            "seconds": args.seconds,
            "warmup_frames": args.warmup,
            "conn_max_age": args.conn_max_age,
            "server_env": args.server_env,
            "inference_workers": args.inference_workers,
            "client": "one frame in flight, >= 33 ms between sends, 2 s reply timeout (as live.js)",
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench ws",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--clients", default="1,4,8", help="concurrent clients per level")
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds per level")
    parser.add_argument("--warmup", type=int, default=5, help="untimed frames per client")
    parser.add_argument("--url", help="ws URL of a running server's /ws/live/ (else one is started)")
    parser.add_argument("--cookie", help="with --url: a logged-in session cookie, e.g. 'sessionid=...'")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, for CPU and memory")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        help="the bench's server: CONN_MAX_AGE through DATABASE_URL (default: the product's setting)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the bench's server: a setting through its environment, e.g. ORT_INTRA_OP_THREADS=1",
    )
    parser.add_argument(
        "--inference-workers",
        type=int,
        default=0,
        metavar="N",
        help="the bench's server: live inference in N Channels workers (`manage.py runworker live-inference-K`, "
        "LIVE_INFERENCE_CHANNELS) through a Redis of the bench's own, instead of in daphne; their CPU and memory "
        "are counted with the server's",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="OUT",
        help="profile the bench's own server with py-spy "
        "for the whole run (collapsed stacks; an SVG flame graph when OUT ends in .svg)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.clients = [int(c) for c in args.clients.split(",") if c]
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise BenchSetupError(
            "the websockets package is needed (pip install -r requirements-test.txt)"
        ) from None
    encode_frames(1)  # fails clearly when the clip is missing
    if args.url:
        if not args.cookie:
            parser.error("--url needs --cookie (a logged-in session)")
        figures = run_levels(args.url, args.cookie, args.pid, args)
    else:
        root = Path(tempfile.mkdtemp(prefix="facesite-bench-ws-"))
        setup_django(FACESITE_MEDIA_ROOT=str(root / "media"))
        os.environ.pop("REDIS_URL", None)
        from recognition.inference import active_pack

        require_models(pack_models(active_pack(from_database=False).name))
        daphne, redis, workers = None, None, []
        try:
            with bench_database(BENCH_DB) as database_url:
                enroll_cast()
                cookie = operator_cookie()
                server_env = dict(item.split("=", 1) for item in args.server_env)
                if args.inference_workers:
                    redis = start_redis(root / "redis")
                    server_env.update(REDIS_URL=redis.url, LIVE_INFERENCE_CHANNELS=",".join(
                        f"live-inference-{k}" for k in range(args.inference_workers)))  # fmt: skip
                    workers = start_inference_workers(database_url, root, server_env, args.inference_workers)
                daphne, port = start_daphne(
                    database_url, root / "media", root / "daphne.log", args.conn_max_age, server_env
                )
                print(f"  daphne pid {daphne.pid} on port {port}", file=sys.stderr)
                profiler = start_profiler(daphne.pid, args.py_spy)
                try:
                    figures = run_levels(f"ws://127.0.0.1:{port}/ws/live/", cookie, daphne.pid, args,
                                         tuple(w.pid for w in workers))  # fmt: skip
                finally:
                    stop_profiler(profiler)
                    for worker in workers:
                        worker.terminate()
                        worker.wait(timeout=20)
                    if redis is not None:
                        redis.stop()
                    daphne.terminate()
                    try:
                        daphne.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        daphne.kill()
                        daphne.wait()
                    from django.db import connection

                    connection.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    rows = list(figures["ws"].values())
    print_table(
        rows,
        [
            ("clients", "clients", ""),
            ("fps_per_client_median", "fps/client", ".1f"),
            ("fps_per_client_min", "min fps", ".1f"),
            ("latency_p50_ms", "p50 ms", ".0f"),
            ("latency_p95_ms", "p95 ms", ".0f"),
            ("server_ms_p50", "server ms", ".0f"),
            ("server_dropped_ratio", "dropped", ".3f"),
            ("camera_skip_ratio", "cam skip", ".2f"),
            ("server_cpu_pct", "cpu %", ".0f"),
            ("server_rss_mb_end", "rss MB", ".0f"),
            ("server_rss_growth_mb", "rss +MB", ".1f"),
            ("load1", "load1", ".2f"),
        ],
    )
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
