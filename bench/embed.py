"""What an embedder option costs per face: the pack's embedder with and without flip test-time augmentation.

    python -m bench embed --pack open --rounds 40 --json OUT.json

Real aligned crops: the largest face of the first identity images in the shared data, detected and aligned
by the pack's own analyzer. Each round embeds the same batch of `--faces` crops once with flip TTA off and
once with it on, in turns in one process and one onnxruntime session (so load changes hit both alike); the
figures are ms per face (a call's time divided by the faces in it), median and p95 over the rounds after
`--warmup` rounds, with the 1-minute load average before and after. `ratio` = median with TTA / median
without. Batches of 1 (a single face, as enrollment and most live frames) and of --faces (a crowded frame).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

from bench.harness import SHARED_FACES, load1, machine, print_table, require_file, summary_ms, write_json


def aligned_crops(analyzer, data_dir: Path, count: int) -> np.ndarray:
    from bench.identities import load_identities, read_image

    crops = []
    for im in load_identities(data_dir):
        faces = analyzer.analyze(read_image(data_dir, im.path), embed=False, emotion=False)
        if faces:
            crops.append(max(faces, key=lambda f: f.detection.area).aligned)
        if len(crops) == count:
            break
    return np.stack(crops)


def time_embedders(embedders: dict[str, object], batches: dict[int, np.ndarray], *, rounds: int,
                   warmup: int) -> dict:  # fmt: skip
    """{batch size: {name: summary_ms of ms per face}} with the ratio of each name to the first."""
    out: dict = {}
    for size, crops in batches.items():
        per_face: dict[str, list[float]] = {name: [] for name in embedders}
        for r in range(warmup + rounds):
            for name, embedder in embedders.items():
                t0 = time.perf_counter()
                embedder.embed(crops)
                if r >= warmup:
                    per_face[name].append((time.perf_counter() - t0) / len(crops))
        figures = {name: summary_ms(values) for name, values in per_face.items()}
        first = next(iter(figures))
        for name in figures:
            figures[name]["ratio"] = round(figures[name]["median_ms"] / figures[first]["median_ms"], 2)
        out[f"batch_{size}"] = figures
    return out


def run(pack: str, data_dir: Path, *, faces: int, rounds: int, warmup: int, threads: int = 0) -> dict:
    from bench.openset import pack_analyzer

    analyzer = pack_analyzer(pack, threads=threads)
    crops = aligned_crops(analyzer, data_dir, faces)
    with_tta = analyzer.embedder
    without = copy.copy(with_tta)
    without.flip_tta = False
    embedders = {"no_tta": without, "flip_tta": with_tta}
    before = load1()
    figures = time_embedders(embedders, {1: crops[:1], len(crops): crops}, rounds=rounds, warmup=warmup)
    return {
        "embed": {
            "pack": pack,
            "embedder": with_tta.name,
            "flip_tta_shipped": bool(type(with_tta).flip_tta),
            "session_batch_size": with_tta.batch_size,
            **figures,
            "load1": [before, load1()],
        },
        "setup": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="open")
    parser.add_argument("--data", type=Path, default=SHARED_FACES)
    parser.add_argument("--faces", type=int, default=8, help="crops in the larger batch")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = default)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    require_file(args.data / "identities" / "identities.csv", "the shared face data")
    results = run(args.pack, args.data, faces=args.faces, rounds=args.rounds, warmup=args.warmup,
                  threads=args.threads)  # fmt: skip
    rows = []
    for batch, figures in results["embed"].items():
        if batch.startswith("batch_"):
            for name, f in figures.items():
                rows.append({"batch": batch, "embedder": name, **f})
    print_table(rows, [("batch", "batch", ""), ("embedder", "embedder", ""), ("median_ms", "ms/face median", ""),
                       ("p95_ms", "p95", ""), ("ratio", "x no_tta", "")])  # fmt: skip
    print(f"load1 before/after: {results['embed']['load1']}")
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
