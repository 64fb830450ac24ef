"""Live recognition speed: LiveSession against a naive every-frame pipeline and InsightFace's FaceAnalysis.

    python -m bench.live [--video FILE[@WxH] ...] [--repeats 3] [--json OUT.json]

Default clips: the Hamilton clip as it is (640x360) and facenet_pytorch_video.mp4 scaled to 1280x720.
Peers, all on the same decoded frames (each process decodes the clip itself; a digest of them is checked):
  live         recognition.engine.live.LiveSession (tracking; detection every `detect_every` frames;
               recognition and emotion per track only when due) with an in-memory gallery of the clip's two
               performers;
  naive        what the original did: on every frame detect, embed every face (one batched call), match every
               face (the same in-memory gallery and decision code) and classify every face's emotion;
  insightface  InsightFace's own FaceAnalysis (detection + recognition, no emotion, no matching) on the same
               SCRFD-500M and w600k_mbf files, from a local root, so it downloads nothing.
Each peer runs in a process of its own (STACK.md: onnxruntime thread pools in one process slow each other),
all with the same onnxruntime options (the product's: RuntimeOptions, spinning off unless --spinning), started
together and run in turns, one pass over the clip at a time, so that all see the same background load.
A warm-up pass (untimed) comes first. Per frame: the time of the peer's call on an already decoded frame.
Figures: median and p95 ms per frame over all timed passes, fps (median over passes of frames / time), and the
ratios live/naive and live/insightface (median over rounds of the ratio within the round). `--in-process` also
runs the three in this one process, in turns (cheaper, less fair).
Faces: faces per frame of each peer, and `live.coverage_of_naive_faces`: the share of the faces the naive
pipeline detects on a frame (full-size detection on every frame) that LiveSession reports on that same frame
(a box with IoU >= 0.5; `coverage_iou03` with IoU >= 0.3, for boxes the Kalman filter predicted a bit off).
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.harness import (
    CAST,
    FACENET_VIDEO,
    HAMILTON,
    REPO_ROOT,
    SHARED_FACES,
    BenchSetupError,
    LoadMonitor,
    frames_digest,
    in_memory_matcher,
    load1,
    machine,
    median,
    pack_models,
    parse_size,
    print_table,
    read_frames,
    require_file,
    require_models,
    summary_ms,
    write_json,
)

PEERS = ("live", "naive", "insightface")
TAG = "@@bench "  # protocol lines between the parent and a peer process; anything else on stdout is ignored
WARMUP_FRAMES = 30
COVERAGE_IOU = 0.5


# ---- the engine, as the product builds it ------------------------------------------------------------------
def session_factory(threads: int, spinning: bool):
    from recognition.engine.runtime import RuntimeOptions, SessionFactory

    return SessionFactory(RuntimeOptions(device="cpu", intra_op_threads=threads, allow_spinning=spinning))


def build_analyzer(pack: str, factory, tight_crops: str):
    from recognition.engine.analyzer import FaceAnalyzer
    from recognition.engine.model_store import ModelStore

    return FaceAnalyzer.from_pack(pack, ModelStore(), factory, tight_crops=tight_crops)


def cast_matcher(analyzer, pack: str) -> Callable:
    """An in-memory gallery of the Hamilton clip's two performers (see harness.in_memory_matcher)."""
    from recognition.engine.imageio import decode_image

    vectors, ids, names = [], [], {}
    for person_id, folder in CAST.items():
        files = sorted(glob.glob(str(SHARED_FACES / "identities" / folder / "*")))
        if not files:
            raise BenchSetupError(f"identity photos not found in {SHARED_FACES / 'identities' / folder}")
        names[person_id] = folder.removeprefix("facerec_")
        for file in files:
            faces = analyzer.analyze(decode_image(Path(file)), emotion=False, max_faces=1)
            if faces:
                vectors.append(faces[0].embedding)
                ids.append(person_id)
    return in_memory_matcher(vectors, ids, names, pack)


# ---- peers: each turns a frame into boxes ------------------------------------------------------------------
class LivePeer:
    name = "live"

    def __init__(self, analyzer, matcher, options) -> None:
        from recognition.engine.live import LiveSession

        self._new = lambda: LiveSession(analyzer, matcher, options)
        self.session = self._new()

    def reset(self) -> None:
        self.session = self._new()  # a pass is a new stream: empty tracker, no votes

    def __call__(self, frame: np.ndarray) -> list[list[float]]:
        return [r.box for r in self.session.process(frame)]

    def stats(self) -> dict:
        return dict(self.session.stats)


class NaivePeer:
    name = "naive"

    def __init__(self, analyzer, matcher) -> None:
        self.analyzer, self.matcher = analyzer, matcher

    def reset(self) -> None:
        pass

    def __call__(self, frame: np.ndarray) -> list[list[float]]:
        from recognition.engine.align import align_face

        detections = self.analyzer.detect(frame)
        if detections:
            embeddings = self.analyzer.embedder.embed(
                np.stack([align_face(frame, d.kps) for d in detections])
            )
            self.matcher(embeddings)
            if self.analyzer.emotion is not None:
                self.analyzer.emotion.classify(frame, detections)
        return [d.box.tolist() for d in detections]

    def stats(self) -> dict:
        return {}


class InsightFacePeer:
    name = "insightface"

    def __init__(self, factory, root: Path) -> None:
        try:
            from insightface.app import FaceAnalysis
        except ImportError as exc:
            raise PeerUnavailable(
                f"insightface is not importable ({exc}); pip install -r requirements-bench.txt "
                "(see its comment: --no-deps)"
            ) from None
        import warnings

        warnings.filterwarnings("ignore", category=FutureWarning)  # skimage's deprecation, once per face
        pack = root / "models" / "buffalo_s"
        pack.mkdir(parents=True, exist_ok=True)
        from recognition.engine.model_store import ModelStore

        store = ModelStore()
        for link, model in (("det_500m.onnx", "scrfd_500m"), ("w600k_mbf.onnx", "arcface_mbf")):
            target = pack / link
            if not target.exists():
                target.symlink_to(store.path(model))
        # The same onnxruntime options as our sessions (the factory's own SessionOptions).
        self.app = FaceAnalysis(
            name="buffalo_s",
            root=str(root),
            allowed_modules=["detection", "recognition"],
            providers=["CPUExecutionProvider"],
            sess_options=factory._session_options(),
        )
        self.app.prepare(ctx_id=-1, det_size=(640, 640))

    def reset(self) -> None:
        pass

    def __call__(self, frame: np.ndarray) -> list[list[float]]:
        return [f.bbox[:4].tolist() for f in self.app.get(frame)]

    def stats(self) -> dict:
        return {}


class PeerUnavailable(Exception):
    pass


def make_peer(name: str, args, factory=None):
    factory = factory or session_factory(args.threads, args.spinning)
    if name == "insightface":
        return InsightFacePeer(factory, Path(args.insightface_root))
    analyzer = build_analyzer(args.pack, factory, args.tight_crops)
    matcher = cast_matcher(analyzer, args.pack)
    if name == "naive":
        return NaivePeer(analyzer, matcher)
    return LivePeer(analyzer, matcher, live_options(args))


def live_options(args):
    from recognition.engine.live import LiveOptions

    overrides = {
        k: getattr(args, k)
        for k in ("detect_every", "recognize_every", "emotion_every")
        if getattr(args, k) is not None
    }
    if args.no_defer:
        overrides["defer_recognition"] = False
    return LiveOptions(**overrides)


def run_pass(peer, frames) -> dict:
    peer.reset()
    times, boxes = [], []
    load_before = load1()
    for frame in frames:
        t0 = time.perf_counter()
        found = peer(frame)
        times.append(time.perf_counter() - t0)
        boxes.append([[round(float(v), 1) for v in box] for box in found])
    return {"times": times, "boxes": boxes, "load1": [load_before, load1()], "stats": peer.stats()}


# ---- the peer process --------------------------------------------------------------------------------------
def peer_main(args) -> int:
    def say(message: dict) -> None:
        print(TAG + json.dumps(message), flush=True)

    frames = read_frames(Path(args.clip), parse_size(args.size))
    t0 = time.perf_counter()
    try:
        peer = make_peer(args.peer, args)
    except PeerUnavailable as exc:
        say({"unavailable": str(exc)})
        return 0
    say(
        {
            "ready": True,
            "digest": frames_digest(frames),
            "frames": len(frames),
            "setup_s": round(time.perf_counter() - t0, 2),
        }
    )
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "warmup":
            run_pass(peer, frames[:WARMUP_FRAMES])
            say({"warm": True})
        elif command["cmd"] == "pass":
            say(run_pass(peer, frames))
        else:
            break
    return 0


class PeerProcess:
    """One peer in its own process, driven over stdin/stdout one pass at a time."""

    def __init__(self, name: str, clip: Path, size: str | None, args) -> None:
        self.name = name
        cmd = [
            sys.executable,
            "-m",
            "bench.live",
            "--peer",
            name,
            "--clip",
            str(clip),
            "--pack",
            args.pack,
            "--threads",
            str(args.threads),
            "--tight-crops",
            args.tight_crops,
            "--insightface-root",
            str(args.insightface_root),
        ]
        if size:
            cmd += ["--size", size]
        if args.spinning:
            cmd.append("--spinning")
        for key in ("detect_every", "recognize_every", "emotion_every"):
            if getattr(args, key) is not None:
                cmd += ["--" + key.replace("_", "-"), str(getattr(args, key))]
        if args.no_defer:
            cmd.append("--no-defer")
        self.process = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def read(self) -> dict:
        for line in self.process.stdout:
            if line.startswith(TAG):
                return json.loads(line[len(TAG) :])
        raise RuntimeError(
            f"peer {self.name} exited ({self.process.wait()}) without answering; see stderr above"
        )

    def ask(self, cmd: str) -> dict:
        self.process.stdin.write(json.dumps({"cmd": cmd}) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


# ---- figures -----------------------------------------------------------------------------------------------
def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def coverage(reference: list[list], found: list[list], threshold: float = COVERAGE_IOU) -> float:
    """Share of the reference boxes (per frame) matched one-to-one by a found box with IoU >= threshold."""
    total = hit = 0
    for ref_boxes, boxes in zip(reference, found, strict=True):
        free = list(boxes)
        for ref in ref_boxes:
            total += 1
            best = max(free, key=lambda b: iou(ref, b), default=None)
            if best is not None and iou(ref, best) >= threshold:
                hit += 1
                free.remove(best)
    return round(hit / total, 4) if total else 1.0


def peer_figures(passes: list[dict]) -> dict:
    times = [t for p in passes for t in p["times"]]
    fps = [len(p["times"]) / sum(p["times"]) for p in passes]
    last = passes[-1]
    out = {
        "fps": round(median(fps), 2),
        "fps_passes": [round(f, 2) for f in fps],
        **summary_ms(times),
        "faces_per_frame": round(sum(len(b) for b in last["boxes"]) / len(last["boxes"]), 3),
        "load1": [v for p in passes for v in p["load1"]],
    }
    if last.get("stats"):
        out["work"] = last["stats"]
    return out


def compare(results: dict[str, list[dict]]) -> dict:
    """Figures per peer, same-round ratios and LiveSession's coverage of the naive pipeline's faces."""
    figures = {name: peer_figures(passes) for name, passes in results.items()}
    for other in ("naive", "insightface"):
        if "live" in results and other in results:
            per_round = [
                (len(a["times"]) / sum(a["times"])) / (len(b["times"]) / sum(b["times"]))
                for a, b in zip(results["live"], results[other], strict=True)
            ]
            key = "ratio" if other == "naive" else "ratio_insightface"
            figures[key] = round(statistics.median(per_round), 3)
            figures[key + "_rounds"] = [round(r, 3) for r in per_round]
    if "naive" in results:
        reference = results["naive"][-1]["boxes"]
        for name in results:
            if name != "naive":
                figures[name]["coverage_of_naive_faces"] = coverage(reference, results[name][-1]["boxes"])
                figures[name]["coverage_iou03"] = coverage(reference, results[name][-1]["boxes"], 0.3)
    return figures


def run_clip_processes(clip: Path, size: str | None, args, peers: list[str]) -> tuple[dict, dict]:
    """The peers in processes of their own, in turns; returns (figures, notes)."""
    procs, notes, digests = {}, {}, {}
    try:
        for name in peers:
            proc = PeerProcess(name, clip, size, args)
            hello = proc.read()
            if "unavailable" in hello:
                print(f"  {name}: skipped: {hello['unavailable']}", file=sys.stderr)
                notes[name] = "skipped: " + hello["unavailable"]
                proc.close()
                continue
            procs[name], digests[name] = proc, hello["digest"]
        if len(set(digests.values())) > 1:
            raise RuntimeError(f"the peers decoded different frames: {digests}")
        for proc in procs.values():
            proc.ask("warmup")
        results: dict[str, list[dict]] = {name: [] for name in procs}
        order = list(procs)
        for round_no in range(args.repeats):
            for name in (
                order[round_no % len(order) :] + order[: round_no % len(order)]
            ):  # rotate who goes first
                results[name].append(procs[name].ask("pass"))
            print(
                f"  round {round_no + 1}/{args.repeats}: "
                + ", ".join(
                    f"{n} {len(r[-1]['times']) / sum(r[-1]['times']):.1f} fps" for n, r in results.items()
                )
                + f" (load {load1()})",
                file=sys.stderr,
            )
    finally:
        for proc in procs.values():
            proc.close()
    return compare(results), {**notes, "frames_digest": next(iter(digests.values()), None)}


def run_clip_in_process(clip: Path, size: str | None, args, peers: list[str]) -> dict:
    """The same peers in this one process, in turns (all onnxruntime pools share the cores)."""
    frames = read_frames(clip, parse_size(size))
    factory = session_factory(args.threads, args.spinning)
    instances = {}
    for name in peers:
        try:
            instances[name] = make_peer(name, args, factory)
        except PeerUnavailable:
            continue
    for peer in instances.values():
        run_pass(peer, frames[:WARMUP_FRAMES])
    results: dict[str, list[dict]] = {name: [] for name in instances}
    for _ in range(args.in_process_repeats):
        for name, peer in instances.items():
            results[name].append(run_pass(peer, frames))
    return compare(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench live",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--video",
        action="append",
        metavar="FILE[@WxH]",
        help="a clip, optionally scaled (repeatable); default: the Hamilton clip and "
        "facenet_pytorch_video.mp4@1280x720",
    )
    parser.add_argument(
        "--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS)
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the clip per peer")
    parser.add_argument("--in-process", action="store_true", help="also run the peers in this one process")
    parser.add_argument("--in-process-repeats", type=int, default=1)
    parser.add_argument("--pack", default="arcface")
    parser.add_argument(
        "--threads", type=int, default=0, help="onnxruntime intra-op threads (0: its default)"
    )
    parser.add_argument("--spinning", action="store_true", help="let onnxruntime threads spin (product: off)")
    parser.add_argument(
        "--tight-crops", default="auto", help="FaceAnalyzer tight_crops (product default: auto)"
    )
    parser.add_argument("--detect-every", type=int, help="LiveOptions override (default: the engine's)")
    parser.add_argument("--recognize-every", type=int)
    parser.add_argument(
        "--no-defer", action="store_true", help="recognise on the detection frame (LiveOptions.defer_recognition off)"
    )
    parser.add_argument("--emotion-every", type=int)
    parser.add_argument("--insightface-root", type=Path, default=REPO_ROOT / "var" / "bench" / "insightface")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--clip", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        return peer_main(args)

    peers = [p for p in args.peers.split(",") if p]
    if unknown := set(peers) - set(PEERS):
        parser.error(f"unknown peers {sorted(unknown)}")
    clips = []
    for spec in args.video or [str(HAMILTON), f"{FACENET_VIDEO}@1280x720"]:
        path, _, size = spec.partition("@")
        clips.append((require_file(Path(path), "video"), size or None))
    require_models(pack_models(args.pack))
    for folder in CAST.values():
        if not (SHARED_FACES / "identities" / folder).is_dir():
            raise BenchSetupError(f"identity photos not found in {SHARED_FACES / 'identities' / folder}")

    load = LoadMonitor()
    load.mark()
    by_clip = {}
    for clip, size in clips:
        label = clip.stem + (f"@{size}" if size else "")
        print(f"{label}: peers {', '.join(peers)} in processes of their own", file=sys.stderr)
        figures, notes = run_clip_processes(clip, size, args, peers)
        load.mark()
        if args.in_process:
            figures["in_process"] = run_clip_in_process(clip, size, args, peers)
            load.mark()
        figures["notes"] = notes
        by_clip[label] = figures

    first = next(iter(by_clip.values()))
    output = {k: v for k, v in first.items() if k in (*PEERS, "ratio", "ratio_insightface")}
    output["clips"] = by_clip
    output["setup"] = {
        **machine(),
        **load.as_dict(),
        "repeats": args.repeats,
        "pack": args.pack,
        "ort": {
            "device": "cpu",
            "intra_op_threads": args.threads,
            "allow_spinning": args.spinning,
            "note": "every peer: the same SessionOptions, one process each",
        },
        "tight_crops": args.tight_crops,
        "live_options": dataclasses.asdict(live_options(args)),
    }
    rows = []
    for label, figures in by_clip.items():
        for section in ("", "in_process"):
            block = figures.get(section, {}) if section else figures
            for name in peers:
                if name in block:
                    f = block[name]
                    rows.append(
                        {
                            "clip": label + (" (1 proc)" if section else ""),
                            "peer": name,
                            **f,
                            "load": f["load1"][-1],
                            "cov": f.get("coverage_of_naive_faces"),
                            "ratio": block.get("ratio")
                            if name == "naive"
                            else block.get("ratio_insightface")
                            if name == "insightface"
                            else None,
                        }
                    )
    print_table(
        rows,
        [
            ("clip", "clip", ""),
            ("peer", "peer", ""),
            ("fps", "fps", ".1f"),
            ("median_ms", "median ms", ".1f"),
            ("p95_ms", "p95 ms", ".1f"),
            ("faces_per_frame", "faces/frame", ".2f"),
            ("cov", "coverage", ".3f"),
            ("ratio", "live/this", ".2f"),
            ("load", "load1", ".2f"),
        ],
    )
    write_json(args.json, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
