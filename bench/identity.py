"""Is the right name on the right face? Live recognition measured against a truth file.

    python -m bench identity --gallery DIR --video FILE --truth CSV [--json OUT] [--pack arcface|open]

DIR is laid out person_name/image; the gallery is built in memory from it with the product's analysis, pooling
and decision code. CSV has `frame,x1,y1,x2,y2,name` rows, one per face and frame (frames count from 0): the box
is a region holding exactly that face; `name` is a gallery folder name, or `unknown` for a person not in the
gallery. A predicted face belongs to the truth row whose region holds its box centre.

Two pipelines run on the same decoded frames, in turns, in this process (sharing one set of model sessions):
LiveSession with the product's defaults, and the naive pipeline (detect, embed and match every face of every
frame, classify every face's emotion). For each (`identity.live.*`, `identity.naive.*`):
  named_boxes            boxes shown with a person's name
  wrong_name             named boxes whose name is not the truth name (strangers' boxes and boxes outside every
                         truth region included: a name shown where no enrolled person is, is wrong)
  wrong_name_rate        wrong_name / named_boxes
  known_named_right_rate truth rows of enrolled people whose face carries their right name
  stranger_named_rate    truth rows of strangers whose face carries any name
  seconds_to_name        median over appearances of enrolled people (a run of consecutive truth frames of one
                         person at one place) of the time from its first frame to the first frame its face
                         carries the right name; an appearance never named counts as never (null when more
                         than half are never named; `appearances_never_named` says how many)
  fps, median_ms, p95_ms  per frame, the pipeline's call on a decoded frame
and `identity.ratio` = live fps / naive fps (median over rounds of the ratio within a round).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.harness import (
    BenchSetupError,
    LoadMonitor,
    in_memory_matcher,
    machine,
    median,
    pack_models,
    print_table,
    read_frames,
    require_file,
    require_models,
    summary_ms,
    write_json,
)

UNKNOWN = "unknown"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


# ---- truth and predictions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TruthRow:
    frame: int
    box: tuple[float, float, float, float]
    name: str  # a gallery folder name or "unknown"

    def holds(self, point: tuple[float, float]) -> bool:
        x, y = point
        return self.box[0] <= x <= self.box[2] and self.box[1] <= y <= self.box[3]


@dataclass(frozen=True)
class Shown:
    """One box a pipeline shows on a frame, with the name on it ("" or "unknown" for no name)."""

    box: tuple[float, float, float, float]
    name: str

    @property
    def named(self) -> bool:
        return self.name not in ("", UNKNOWN)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


class TruthError(ValueError):
    pass


def load_truth(path: Path) -> dict[int, list[TruthRow]]:
    """Truth rows by frame. A row that does not parse is an error naming its line."""
    by_frame: dict[int, list[TruthRow]] = defaultdict(list)
    with Path(path).open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"frame", "x1", "y1", "x2", "y2", "name"} - set(reader.fieldnames or ())
        if missing:
            raise TruthError(f"{path}: missing columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
                frame = int(row["frame"])
            except (TypeError, ValueError):
                raise TruthError(f"{path}:{line}: not a number in {row}") from None
            name = (row["name"] or "").strip()
            if frame < 0 or box[2] <= box[0] or box[3] <= box[1] or not name:
                raise TruthError(f"{path}:{line}: bad row {row}")
            by_frame[frame].append(TruthRow(frame, box, name))  # type: ignore[arg-type]
    return dict(by_frame)


def truth_row_of(shown: Shown, rows: Iterable[TruthRow]) -> TruthRow | None:
    """The truth row whose region holds the box centre (the smallest such region, should two overlap)."""
    holding = [r for r in rows if r.holds(shown.centre)]
    return min(holding, key=lambda r: (r.box[2] - r.box[0]) * (r.box[3] - r.box[1]), default=None)


def appearances(truth: dict[int, list[TruthRow]]) -> list[tuple[str, int, list[int]]]:
    """Runs of consecutive frames in which one enrolled person is in the truth, each (name, start, frames).
    A gap of a frame or a jump of the region (a cut that brings them back elsewhere) starts a new run."""
    runs: list[tuple[str, int, list[int]]] = []
    open_runs: dict[str, tuple[int, list[int], TruthRow]] = {}
    for frame in sorted(truth):
        present = {r.name: r for r in truth[frame] if r.name != UNKNOWN}
        for name, (start, frames, last) in list(open_runs.items()):
            row = present.get(name)
            centre = ((row.box[0] + row.box[2]) / 2, (row.box[1] + row.box[3]) / 2) if row else None
            if row is None or frames[-1] != frame - 1 or not last.holds(centre):
                runs.append((name, start, frames))
                del open_runs[name]
        for name, row in present.items():
            if name in open_runs:
                open_runs[name][1].append(frame)
                open_runs[name] = (open_runs[name][0], open_runs[name][1], row)
            else:
                open_runs[name] = (frame, [frame], row)
    runs.extend((name, start, frames) for name, (start, frames, _) in open_runs.items())
    return sorted(runs, key=lambda r: (r[1], r[0]))


def score(shown_per_frame: list[list[Shown]], truth: dict[int, list[TruthRow]], fps: float) -> dict:
    """The identity figures of one pipeline's output against the truth."""
    named = wrong = unlabelled_named = 0
    known_rows = known_right = stranger_rows = stranger_named = 0
    right_name_at: set[tuple[int, str]] = set()  # (frame, name) where that person's face carried their name
    for frame, shown in enumerate(shown_per_frame):
        rows = truth.get(frame, [])
        carried: dict[int, set[str]] = defaultdict(set)  # truth row index -> names shown on its face
        for item in shown:
            row = truth_row_of(item, rows)
            if item.named:
                named += 1
                if row is None:
                    unlabelled_named += 1
                if row is None or row.name != item.name:
                    wrong += 1
            if row is not None and item.named:
                carried[rows.index(row)].add(item.name)
        for i, row in enumerate(rows):
            if row.name == UNKNOWN:
                stranger_rows += 1
                stranger_named += bool(carried[i])
            else:
                known_rows += 1
                if row.name in carried[i]:
                    known_right += 1
                    right_name_at.add((frame, row.name))
    delays, never = [], 0
    for name, start, frames in appearances(truth):
        first = next((f for f in frames if (f, name) in right_name_at), None)
        if first is None:
            never += 1
            delays.append(float("inf"))
        else:
            delays.append((first - start) / fps)
    delay = statistics.median(delays) if delays else float("nan")
    return {
        "named_boxes": named,
        "wrong_name": wrong,
        "wrong_name_rate": round(wrong / named, 4) if named else 0.0,
        "unlabelled_named": unlabelled_named,
        "known_rows": known_rows,
        "known_named_right_rate": round(known_right / known_rows, 4) if known_rows else None,
        "stranger_rows": stranger_rows,
        "stranger_named_rate": round(stranger_named / stranger_rows, 4) if stranger_rows else None,
        "seconds_to_name": None if delay == float("inf") or delay != delay else round(delay, 3),
        "appearances": len(delays),
        "appearances_never_named": never,
    }


# ---- the gallery and the two pipelines ---------------------------------------------------------------------
def gallery_matcher(analyzer, gallery_dir: Path, pack: str) -> tuple[Callable, dict]:
    """An in-memory gallery of DIR's people, matched with the product's decision code and the pack's policy."""
    from recognition.engine.imageio import InvalidImage, decode_image

    vectors, ids, names = [], [], {}
    folders = sorted(p for p in Path(gallery_dir).iterdir() if p.is_dir())
    for person_id, folder in enumerate(folders, start=1):
        names[person_id] = folder.name
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                faces = analyzer.analyze(decode_image(file), emotion=False, max_faces=1)
            except InvalidImage:
                continue
            if faces:
                vectors.append(faces[0].embedding)
                ids.append(person_id)
    if not vectors:
        raise BenchSetupError(f"no face could be enrolled from {gallery_dir} (expected person_name/image files)")
    return in_memory_matcher(vectors, ids, names, pack), {"people": len(folders), "embeddings": len(vectors)}


class LivePipeline:
    name = "live"

    def __init__(self, analyzer, matcher) -> None:
        from recognition.engine.live import LiveOptions, LiveSession

        self._new = lambda: LiveSession(analyzer, matcher, LiveOptions())
        self.session = self._new()

    def reset(self) -> None:
        self.session = self._new()

    def __call__(self, frame: np.ndarray) -> list[Shown]:
        return [Shown(tuple(r.box), r.name) for r in self.session.process(frame)]


class NaivePipeline:
    name = "naive"

    def __init__(self, analyzer, matcher) -> None:
        self.analyzer, self.matcher = analyzer, matcher

    def reset(self) -> None:
        pass

    def __call__(self, frame: np.ndarray) -> list[Shown]:
        from recognition.engine.align import align_face

        detections = self.analyzer.detect(frame)
        if not detections:
            return []
        embeddings = self.analyzer.embedder.embed(np.stack([align_face(frame, d.kps) for d in detections]))
        matches = self.matcher(embeddings)
        if self.analyzer.emotion is not None:
            self.analyzer.emotion.classify(frame, detections)
        return [Shown(tuple(float(v) for v in d.box), m.name) for d, m in zip(detections, matches, strict=True)]


def run_pass(pipeline, frames) -> tuple[list[float], list[list[Shown]]]:
    pipeline.reset()
    times, shown = [], []
    for frame in frames:
        t0 = time.perf_counter()
        shown.append(pipeline(frame))
        times.append(time.perf_counter() - t0)
    return times, shown


def measure(args) -> dict:
    from bench.live import build_analyzer, session_factory

    require_models(pack_models(args.pack))
    video = require_file(args.video, "video")
    truth_path = require_file(args.truth, "truth file")
    if not Path(args.gallery).is_dir():
        raise BenchSetupError(f"gallery folder not found: {args.gallery}")
    try:
        truth = load_truth(truth_path)
    except TruthError as exc:
        raise BenchSetupError(str(exc)) from None
    import cv2

    capture = cv2.VideoCapture(str(video))
    video_fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    capture.release()
    frames = read_frames(video)
    analyzer = build_analyzer(args.pack, session_factory(args.threads, False), "small")
    matcher, gallery = gallery_matcher(build_analyzer(args.pack, session_factory(args.threads, False), "auto"),
                                       Path(args.gallery), args.pack)  # fmt: skip
    pipelines = [LivePipeline(analyzer, matcher), NaivePipeline(analyzer, matcher)]
    load = LoadMonitor()
    for pipeline in pipelines:  # warm-up, untimed
        run_pass(pipeline, frames[:20])
    times: dict[str, list[list[float]]] = {p.name: [] for p in pipelines}
    shown: dict[str, list[list[Shown]]] = {}
    for _ in range(args.repeats):
        load.mark()
        for pipeline in pipelines:
            pass_times, pass_shown = run_pass(pipeline, frames)
            times[pipeline.name].append(pass_times)
            shown.setdefault(pipeline.name, pass_shown)  # the output is the same every pass: score the first
    load.mark()
    figures: dict = {"setup": {**machine(), "video": str(video), "truth": str(truth_path), "frames": len(frames),
                               "video_fps": round(video_fps, 3), "truth_rows": sum(map(len, truth.values())),
                               "pack": args.pack, "repeats": args.repeats, "gallery": gallery,
                               **load.as_dict()}}  # fmt: skip
    fps_by_round: dict[str, list[float]] = {}
    for name in times:
        fps_by_round[name] = [len(t) / sum(t) for t in times[name]]
        figures[name] = {
            **score(shown[name], truth, video_fps),
            "fps": round(median(fps_by_round[name]), 1),
            **summary_ms([s for t in times[name] for s in t]),
        }
    ratios = [a / b for a, b in zip(fps_by_round["live"], fps_by_round["naive"], strict=True)]
    figures["ratio"] = round(median(ratios), 2)
    return figures


def print_figures(figures: dict, file=None) -> None:
    rows = [{"pipeline": name, **figures[name]} for name in ("live", "naive")]
    print_table(rows, [("pipeline", "pipeline", ""), ("named_boxes", "named", "d"), ("wrong_name", "wrong", "d"),
                       ("wrong_name_rate", "wrong rate", ".4f"), ("known_named_right_rate", "known right", ".3f"),
                       ("stranger_named_rate", "stranger named", ".3f"), ("seconds_to_name", "s to name", ".2f"),
                       ("appearances_never_named", "never named", "d"), ("fps", "fps", ".1f"),
                       ("p95_ms", "p95 ms", ".1f")], file=file)  # fmt: skip
    print(f"ratio live/naive: {figures['ratio']}  (load {figures['setup'].get('load1_median')})", file=file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--gallery", type=Path, required=True, help="person_name/image folder")
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True, help="frame,x1,y1,x2,y2,name CSV")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--pack", choices=("arcface", "open"), default="arcface")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each pipeline")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: its choice)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    figures = measure(args)
    print_figures(figures)
    write_json(args.json, {"identity": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
