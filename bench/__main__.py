"""Benchmarks, measured side by side on this machine: python -m bench {all,<part>} ... (the parts: python -m bench).

    python -m bench all --json OUT.json       every part, each in a process of its own, one table and one JSON
    python -m bench live --help               one part (its own options; see each part's --help)

Every figure is a median with p95 over repeated runs after a warm-up; every comparison is a ratio measured
in one run on the same inputs; the 1-minute load average is recorded next to each (these cores are shared).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import REPO_ROOT, BenchSetupError, load1, machine, print_table, write_json

PARTS = {
    "live": (
        "bench.live",
        "LiveSession vs naive every-frame pipeline vs InsightFace FaceAnalysis (fps, ms/frame)",
    ),
    "enroll": ("bench.enroll", "images/s through a real Celery worker vs the engine alone"),
    "search": ("bench.search", "identify latency and recall@1, HNSW vs exact, 1k/10k/100k embeddings"),
    "ws": ("bench.ws", "1/4/8 concurrent websocket clients against daphne: fps, latency, drops, CPU, memory"),
    "accuracy": ("bench.accuracy", "detection, verification and identification accuracy on the shared data"),
    "identity": ("bench.identity", "the right name on the right face: live vs naive against a truth file"),
    "embed": ("bench.embed", "ms per face of the pack's embedder with and without flip test-time augmentation"),
    "liveness": ("bench.liveness", "liveness challenge: genuine head turns passed, photo/slideshow attacks accepted"),
    "reports": ("bench.reports", "seconds for a month's attendance report of 1,000 people (statuses on read)"),
    "cameras": ("bench.cameras", "N RTSP cameras through one camera worker: streams kept at >= 10 fps, p95, CPU"),
}
# What `all` passes to each part (quick enough for one sitting on 2 cores).
ALL_ARGS = {
    "live": ["--in-process"],
    "enroll": ["--rounds", "3"],
    "search": ["--sizes", "1000,10000,100000"],
    "ws": [],
    "accuracy": [],
    "embed": ["--rounds", "20"],
    "liveness": [],
    "reports": [],
}


def summary_rows(figures: dict) -> list[dict]:
    """The headline figures of every part that ran, one row each, with the targets."""
    rows = []

    def add(name, value, target="", load=None):
        if value is not None:
            rows.append({"figure": name, "value": value, "target": target, "load": load})

    live = figures.get("live", {})
    if live:
        load = max(live.get("load1", [0]) or [0])
        add("live.fps (640x360)", live.get("fps"), ">= 30", load)
        add("live.p95_ms", live.get("p95_ms"), "<= 60", load)
        add("naive.fps", figures.get("naive", {}).get("fps"), "", load)
        add("ratio live/naive", figures.get("ratio"), ">= 3", load)
        add("insightface.fps", figures.get("insightface", {}).get("fps"), "", load)
        add("ratio live/insightface", figures.get("ratio_insightface"), ">= 1.5", load)
    for size, f in figures.get("search", {}).items():
        add(f"search.{size}.p95_ms", f.get("p95_ms"), "<= 20 (1M)", f.get("load1", {}).get("hnsw"))
        add(f"search.{size}.recall_at_1", f.get("recall_at_1"), ">= 0.99", f.get("load1", {}).get("hnsw"))
    enroll = figures.get("enroll", {})
    if enroll:
        add("enroll.worker_ips", enroll.get("worker_ips"))
        add("enroll.engine_ips", enroll.get("engine_ips"))
        add("enroll.ratio", enroll.get("ratio"), ">= 0.80")
    liveness = figures.get("liveness", {}).get("liveness", {})
    if liveness:
        load = figures.get("setup", {}).get("liveness", {}).get("load1_median")
        add("liveness.genuine_pass_rate", liveness.get("genuine_pass_rate"), ">= 0.95", load)
        add("liveness.attack_accept_rate", liveness.get("attack_accept_rate"), "<= 0.01", load)
        add("liveness.median_seconds", liveness.get("median_seconds"), "", load)
    reports = figures.get("reports", {})
    if reports:
        add("reports.month_1000_people_s", reports.get("month_1000_people_s"), "< 2", reports.get("load1_after"))
    for clients, f in figures.get("ws", {}).items():
        add(f"ws.{clients}.fps_per_client", f.get("fps_per_client_min"), ">= 10 (4 clients)", f.get("load1"))
        add(f"ws.{clients}.p95_ms", f.get("latency_p95_ms"), "<= 150 (4 clients)", f.get("load1"))
    return rows


def run_all(args) -> int:
    merged: dict = {"setup": {"all": machine()}}
    failed = []
    with tempfile.TemporaryDirectory(prefix="facesite-bench-") as tmp:
        for part in args.parts.split(","):
            out = Path(tmp) / f"{part}.json"
            print(f"== {part} (load {load1()})", file=sys.stderr, flush=True)
            code = subprocess.call(
                [sys.executable, "-m", PARTS[part][0], *ALL_ARGS[part], "--json", str(out)], cwd=REPO_ROOT
            )
            if code != 0 or not out.exists():
                failed.append(part)
                continue
            figures = json.loads(out.read_text())
            merged["setup"][part] = figures.pop("setup", {})
            if part in ("accuracy", "liveness"):
                merged[part] = figures
            else:
                merged.update(figures)
    print()
    print_table(
        summary_rows(merged),
        [("figure", "figure", ""), ("value", "value", ""), ("target", "target", ""), ("load", "load1", "")],
    )
    if failed:
        print(f"parts that failed or were skipped: {', '.join(failed)}", file=sys.stderr)
    write_json(args.json, merged)
    return 1 if failed else 0


def run_part(part: str, argv: list[str]) -> int:
    """One part in this process; a missing model file ends it with the model store's message."""
    from recognition.engine.model_store import ModelCorrupt, ModelMissing

    try:
        return importlib.import_module(PARTS[part][0]).main(argv) or 0
    except (ModelMissing, ModelCorrupt) as exc:
        raise BenchSetupError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="part", metavar="{all," + ",".join(PARTS) + "}")
    all_parser = sub.add_parser("all", help="every part, one table and one JSON")
    all_parser.add_argument("--json", type=Path)
    all_parser.add_argument("--parts", default=",".join(ALL_ARGS), help="comma-separated subset (identity needs its "
                            "own --gallery/--video/--truth: run it alone)")
    for name, (_, help_text) in PARTS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    if argv[0] in PARTS:
        return run_part(argv[0], argv[1:])
    args = parser.parse_args(argv)
    if args.part != "all":
        parser.print_help()
        return 2
    if unknown := set(args.parts.split(",")) - set(ALL_ARGS):
        parser.error(f"unknown parts {sorted(unknown)}")
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
