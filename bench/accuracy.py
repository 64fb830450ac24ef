"""Accuracy of every detector and model pack on the shared face data (prints a table, writes JSON).

    python -m bench.accuracy --data ../shared/data/faces --json OUT.json

detection.<detector>.{recall,precision}: group/dlib_pascal_voc boxes.csv (43 faces in 9 photos), a detection
counts when it matches an unmatched ground-truth box with IoU >= 0.4 (best score first).
verification.<pack>.{auc,eer,tar_at_far_1e-2,tar_at_far_1e-3,threshold_at_eer}: cosine scores of
same/different pairs, only WITHIN each identity set (identities.csv `set`); the deepface set uses
pairs_deepface.csv. The shared data is easy (AUC 1.000 for both packs), so the scores' separation is reported
too, where a change of the embedding shows even when AUC cannot move: .impostor.{mean,std,p99,p999,max},
.genuine.{min,p01,mean}, .gap (lowest genuine minus highest impostor score; > 0: perfectly separated) and
.d_prime ((genuine mean - impostor mean) / sqrt of their mean variance).
--degrade KIND makes the data harder, the same way for every pack: each identity image is first analysed as it
is, then degraded around its largest face (DEGRADATIONS) and analysed again; that face's embedding is the one
used (none when the degraded image shows no face). The open-set figures then use these embeddings too.
identification.<pack>.rank1: leave-one-out nearest neighbour within each set.
faces_per_identity_image.<pack>: how many identities/ images gave exactly one face (through the
analyzer, tight-crop padding on).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench.harness import write_json
from bench.identities import (  # noqa: F401  (the data's loaders; tests read them from here too)
    DEFAULT_DATA,
    DEGRADATIONS,
    SMALL_FACE_PX,
    IdentityImage,
    embed_identities,
    load_identities,
    read_image,
)
from recognition.engine.analyzer import FaceAnalyzer
from recognition.engine.detectors import detector_class
from recognition.engine.runtime import RuntimeOptions, SessionFactory

DETECTORS = {"scrfd": "scrfd_500m", "retinaface": "retinaface_mnet025", "yunet": "yunet_2023mar"}
IOU_MATCH = 0.4


def load_pascal_boxes(data_dir: Path) -> dict[str, np.ndarray]:
    boxes: dict[str, list[list[float]]] = defaultdict(list)
    with (data_dir / "group" / "dlib_pascal_voc" / "boxes.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            x, y, w, h = (float(row[k]) for k in ("left", "top", "width", "height"))
            boxes[row["image"]].append([x, y, x + w, y + h])
    return {k: np.asarray(v, dtype=np.float32) for k, v in boxes.items()}


def verification_pairs(data_dir: Path, images: list[IdentityImage]) -> list[tuple[str, str, bool, str]]:
    """(path_a, path_b, same, set): every pair within a set; the deepface set uses its labelled pairs."""
    present = {im.path for im in images}
    pairs = []
    by_set: dict[str, list[IdentityImage]] = defaultdict(list)
    for im in images:
        by_set[im.set].append(im)
    for set_name, members in sorted(by_set.items()):
        if set_name == "deepface":
            with (data_dir / "identities" / "pairs_deepface.csv").open(newline="") as fh:
                for row in csv.DictReader(fh):
                    if row["path_a"] in present and row["path_b"] in present:
                        pairs.append((row["path_a"], row["path_b"], row["same_person"] == "1", set_name))
            continue
        for a, b in itertools.combinations(members, 2):
            pairs.append((a.path, b.path, a.identity == b.identity, set_name))
    return pairs


# ---- metrics -----------------------------------------------------------------------------------------------
def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def match_detections(pred_boxes: np.ndarray, scores: np.ndarray, gt: np.ndarray) -> int:
    """True positives: greedy, best score first, each ground-truth box used once, IoU >= IOU_MATCH."""
    used = np.zeros(len(gt), dtype=bool)
    tp = 0
    for i in np.argsort(-scores):
        ious = np.where(used, -1.0, iou(pred_boxes[i], gt))
        j = int(np.argmax(ious))
        if ious[j] >= IOU_MATCH:
            used[j] = True
            tp += 1
    return tp


def roc_metrics(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, float]:
    """AUC (Mann-Whitney, ties count half), EER and its threshold, TAR at FAR 1e-2 and 1e-3."""
    genuine = np.asarray(genuine, dtype=np.float64)
    impostor = np.asarray(impostor, dtype=np.float64)
    scores = np.concatenate([genuine, impostor])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    n_g, n_i = len(genuine), len(impostor)
    auc = (ranks[:n_g].sum() - n_g * (n_g + 1) / 2) / (n_g * n_i)
    thresholds = np.unique(scores)
    far = np.array([(impostor >= t).mean() for t in thresholds])
    frr = np.array([(genuine < t).mean() for t in thresholds])
    k = int(np.argmin(np.abs(far - frr)))
    # Midway between the EER threshold and the next lower score, so a perfectly separated set reports the
    # middle of the gap between impostors and genuines rather than the lowest genuine score.
    thr_eer = (thresholds[k] + thresholds[k - 1]) / 2 if k > 0 else thresholds[k]
    out = {"auc": float(auc), "eer": float((far[k] + frr[k]) / 2), "threshold_at_eer": float(thr_eer)}
    for name, target in (("tar_at_far_1e-2", 1e-2), ("tar_at_far_1e-3", 1e-3)):
        # Lowest threshold whose FAR does not exceed the target (with few impostors, FAR 1e-3 means
        # "no impostor accepted" for fewer than 1000 of them).
        ok = thresholds[far <= target]
        thr = float(ok.min()) if ok.size else float("inf")
        out[name] = float((genuine >= thr).mean())
    out["genuine_pairs"] = n_g
    out["impostor_pairs"] = n_i
    out.update(separation(genuine, impostor))
    return out


def separation(genuine: np.ndarray, impostor: np.ndarray) -> dict:
    """How far apart the two score distributions are: the impostor tail, the genuine low end, their gap, d'."""
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    return {
        "impostor": {
            "mean": float(i.mean()), "std": float(i.std()), "p99": float(np.quantile(i, 0.99)),
            "p999": float(np.quantile(i, 0.999)), "max": float(i.max()),
        },
        "genuine": {"min": float(g.min()), "p01": float(np.quantile(g, 0.01)), "mean": float(g.mean())},
        "gap": float(g.min() - i.max()),
        "d_prime": float((g.mean() - i.mean()) / np.sqrt((g.var() + i.var()) / 2)),
    }  # fmt: skip


def rank1(embeddings: dict[str, np.ndarray | None], images: list[IdentityImage]) -> dict[str, float]:
    """Leave-one-out within each set; probes whose identity has no other image in the set are skipped;
    a probe without an embedding counts as a miss."""
    by_set: dict[str, list[IdentityImage]] = defaultdict(list)
    for im in images:
        by_set[im.set].append(im)
    hits = probes = 0
    for members in by_set.values():
        ids = [m.identity for m in members]
        for i, probe in enumerate(members):
            if ids.count(probe.identity) < 2:
                continue
            probes += 1
            vec = embeddings.get(probe.path)
            if vec is None:
                continue
            best, best_id = -2.0, None
            for j, cand in enumerate(members):
                other = embeddings.get(cand.path)
                if j == i or other is None:
                    continue
                s = float(vec @ other)
                if s > best:
                    best, best_id = s, cand.identity
            hits += best_id == probe.identity
    return {"rank1": hits / probes if probes else float("nan"), "probes": probes}


# ---- runs --------------------------------------------------------------------------------------------------
def evaluate_detector(detect: Callable[[np.ndarray], list], data_dir: Path) -> dict[str, float]:
    gt = load_pascal_boxes(data_dir)
    tp = n_pred = 0
    n_gt = sum(len(v) for v in gt.values())
    for rel, boxes in gt.items():
        dets = detect(read_image(data_dir, rel))
        n_pred += len(dets)
        if dets:
            pred = np.stack([d.box for d in dets])
            tp += match_detections(pred, np.array([d.score for d in dets]), boxes)
    return {
        "recall": tp / n_gt,
        "precision": tp / n_pred if n_pred else 0.0,
        "true_positives": tp,
        "detections": n_pred,
        "ground_truth": n_gt,
    }


def count_faces(detect: Callable[[np.ndarray], list], data_dir: Path, images: list[IdentityImage]) -> dict:
    counts = {im.path: len(detect(read_image(data_dir, im.path))) for im in images}
    return {
        "exactly_one": sum(c == 1 for c in counts.values()),
        "images": len(counts),
        "none": sorted(p for p, c in counts.items() if c == 0),
        "several": sorted(p for p, c in counts.items() if c > 1),
    }


def verification_scores(
    embeddings: dict[str, np.ndarray | None], pairs: list[tuple[str, str, bool, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity per pair; a pair with a missing embedding scores -1 (always rejected)."""
    genuine, impostor = [], []
    for a, b, same, _ in pairs:
        ea, eb = embeddings.get(a), embeddings.get(b)
        score = float(ea @ eb) if ea is not None and eb is not None else -1.0
        (genuine if same else impostor).append(score)
    return np.asarray(genuine), np.asarray(impostor)


def evaluate_pack(
    analyzer: FaceAnalyzer, data_dir: Path, images: list[IdentityImage], *, degrade: str | None = None
) -> dict:
    embeddings, counts = embed_identities(analyzer, data_dir, images, degrade=degrade)
    pairs = verification_pairs(data_dir, images)
    genuine, impostor = verification_scores(embeddings, pairs)
    per_set = {}
    for set_name in sorted({p[3] for p in pairs}):
        g, i = verification_scores(embeddings, [p for p in pairs if p[3] == set_name])
        per_set[set_name] = {k: v for k, v in roc_metrics(g, i).items() if k in ("auc", "eer")}
    faces = {
        "exactly_one": sum(c == 1 for c in counts.values()),
        "at_least_one": sum(c >= 1 for c in counts.values()),
        "images": len(counts),
        "none": sorted(p for p, c in counts.items() if c == 0),
        "several": sorted(p for p, c in counts.items() if c > 1),
    }
    return {
        "verification": {**roc_metrics(genuine, impostor), "per_set": per_set},
        "identification": rank1(embeddings, images),
        "faces": faces,
        "embeddings": embeddings,
    }


def run(
    data_dir: Path,
    *,
    weights: Path | None = None,
    packs: list[str] | None = None,
    detectors: list[str] | None = None,
    threads: int = 0,
    degrade: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    from recognition.engine.model_store import ModelStore

    store = ModelStore(root=weights) if weights else ModelStore()
    factory = SessionFactory(RuntimeOptions(intra_op_threads=threads))
    images = load_identities(data_dir)
    results: dict = {
        "detection": {},
        "verification": {},
        "identification": {},
        "faces_per_identity_image": {},
    }
    if degrade is not None:
        results["degrade"] = degrade
    for name in detectors or list(DETECTORS):
        model = DETECTORS[name]
        t0 = time.perf_counter()
        det = detector_class(model)(store.path(model), factory)
        results["detection"][name] = evaluate_detector(det.detect, data_dir)
        # The same detector behind the analyzer's tight-crop policy, on every identity image.
        analyzer = FaceAnalyzer(det, None)
        results["detection"][name]["identity_images_exactly_one"] = count_faces(
            analyzer.detect, data_dir, images
        )["exactly_one"]
        results["detection"][name]["seconds"] = round(time.perf_counter() - t0, 2)
        log(f"detection {name}: done in {results['detection'][name]['seconds']} s")
    embeddings_by_pack: dict[str, dict] = {}
    for pack in packs or list(store.packs):
        t0 = time.perf_counter()
        analyzer = FaceAnalyzer.from_pack(pack, store, factory, with_emotion=False)
        res = evaluate_pack(analyzer, data_dir, images, degrade=degrade)
        embeddings_by_pack[pack] = res["embeddings"]
        results["verification"][pack] = res["verification"]
        results["identification"][pack] = res["identification"]
        results["faces_per_identity_image"][pack] = res["faces"]
        log(f"pack {pack}: done in {time.perf_counter() - t0:.1f} s")
    if importlib.util.find_spec("bench.emotion_accuracy") is not None:
        from bench import emotion_accuracy

        results.update(emotion_accuracy.run(data_dir))
    if importlib.util.find_spec("bench.openset") is not None:  # openset.<pack>.{fpir,tpir}
        from bench import openset

        results.update(
            openset.run(
                data_dir, packs=packs, weights=weights, threads=threads, log=log,
                embeddings_by_pack=embeddings_by_pack if degrade is not None else None,
            )
        )  # fmt: skip
    return results


def format_table(results: dict) -> str:
    lines = ["detection (PASCAL 43 faces, IoU>=0.4)      recall  precision  identity imgs with 1 face"]
    for name, r in results.get("detection", {}).items():
        lines.append(
            f"  {name:<40} {r['recall']:.3f}   {r['precision']:.3f}      {r['identity_images_exactly_one']}"
        )
    lines.append(
        "verification (within sets)                 AUC     EER    TAR@1e-2 TAR@1e-3 thr@EER  rank-1  1-face"
    )
    for pack, v in results.get("verification", {}).items():
        ident = results["identification"][pack]
        faces = results["faces_per_identity_image"][pack]
        lines.append(
            f"  {pack:<40} {v['auc']:.4f}  {v['eer']:.4f} {v['tar_at_far_1e-2']:.4f}   "
            f"{v['tar_at_far_1e-3']:.4f}"
            f"   {v['threshold_at_eer']:.3f}   {ident['rank1']:.4f}  {faces['exactly_one']}/{faces['images']}"
        )
    lines.append(
        "separation                                 impostor mean/std  p99    max    genuine min  p01    mean"
        "    gap     d'"
    )
    for pack, v in results.get("verification", {}).items():
        imp, gen = v["impostor"], v["genuine"]
        lines.append(
            f"  {pack:<40} {imp['mean']:.3f}/{imp['std']:.3f}        {imp['p99']:.3f}  {imp['max']:.3f}"
            f"  {gen['min']:.3f}        {gen['p01']:.3f}  {gen['mean']:.3f}  {v['gap']:+.3f}  {v['d_prime']:.2f}"
        )
    if "openset" in results:
        from bench.openset import format_table as openset_table

        lines.append(openset_table(results))
    if "emotion" in results:
        try:
            from bench.emotion_accuracy import format_table as emotion_table
        except ImportError:
            lines.append(f"emotion: {json.dumps(results['emotion'])}")
        else:
            lines.append(emotion_table(results))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared face data folder")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--weights", type=Path, help="model weights folder (default: models/weights)")
    parser.add_argument("--pack", action="append", dest="packs", help="model pack (repeatable; default: all)")
    parser.add_argument("--detector", action="append", dest="detectors", choices=sorted(DETECTORS))
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = default)")
    parser.add_argument("--degrade", choices=sorted(DEGRADATIONS),
                        help="make the identity images harder (see the module docstring)")  # fmt: skip
    args = parser.parse_args(argv)
    if not (args.data / "identities" / "identities.csv").is_file():
        print(f"no face data at {args.data}", file=sys.stderr)
        return 2
    results = run(
        args.data,
        weights=args.weights,
        packs=args.packs,
        detectors=args.detectors,
        threads=args.threads,
        degrade=args.degrade,
        log=lambda m: print(m, file=sys.stderr),
    )
    print(format_table(results))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    cv2.setNumThreads(1)
    sys.exit(main())
