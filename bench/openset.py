"""Open-set identification on the shared face data, through the product's own decision code.

    python -m bench.openset [--data ../shared/data/faces] [--pack arcface] [--splits 20] [--json OUT]

Protocol, repeated over `splits` random splits (seeded, so reruns give the same figures):
  - a random 70% of the identities are enrolled: about half of each one's images (at least one) go into the
    gallery, the rest are probes of enrolled people ("the rest of their images");
  - every image of the other 30% is a stranger probe;
  - each probe (its largest face) goes through recognition.domain.matching.match_faces against an
    InMemoryGallery with the pack's shipped policy (threshold, margin, pooling), i.e. the same decision as the
    REST API and live recognition, with an exact search in place of pgvector's HNSW.
openset.<pack>.fpir: strangers accepted as anyone; .tpir: enrolled probes accepted as the RIGHT person
(a probe accepted as someone else counts against tpir and is reported as `misidentified`). .fpir_pascal: the
share of the faces in the PASCAL VOC group photos (unrelated people, all faces of a photo matched together)
accepted as someone. Mean and spread
(std, min, max) over the splits. `.calibrated` does the same with the threshold that
recognition.services.calibration proposes from each split's own gallery (leave-one-out, target FAR 1e-5),
which is what `manage.py calibrate` would apply in that deployment. `.at_fpir_1e-2` is the operating point of
the targets, independent of any shipped threshold: per split the lowest threshold at which at most 1% of the
strangers are accepted (policy's margin kept; with ~40 strangers a split that means none), and the TPIR there.

Identities of different sets may be one person (PROVENANCE.md: Obama is in face_recognition and glint360k);
KNOWN_SAME_PERSON lists such identities, and a stranger whose identity is the same person as an enrolled one
is dropped from that split. The report also names the closest cross-set identity pairs (highest similarity),
for a person to check by eye.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from bench.harness import write_json
from bench.identities import DEFAULT_DATA, IdentityImage, embed_identities, load_identities
from recognition.domain.calibration import calibrate_arrays
from recognition.domain.matching import InMemoryGallery, MatchPolicy, match_faces, pool_scores
from recognition.domain.pack import DEFAULT_POLICIES
from recognition.engine.analyzer import FaceAnalyzer
from recognition.engine.imageio import decode_image
from recognition.engine.model_store import ModelStore
from recognition.engine.runtime import RuntimeOptions, SessionFactory

ENROLLED_SHARE = 0.7
GALLERY_SHARE = 0.5  # of an enrolled identity's images; the rest are its probes
SPLITS = 20
CALIBRATION_TARGET_FAR = 1e-5
OPERATING_FPIR = 0.01
# Groups of identities (across sets) that are the same person.
KNOWN_SAME_PERSON: tuple[frozenset[str], ...] = (frozenset({"facerec_obama", "glint_Barack_Obama"}),)


def same_person(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in KNOWN_SAME_PERSON)


def split(images: list[IdentityImage], rng: np.random.Generator) -> tuple[list, list, list]:
    """(gallery, enrolled probes, stranger probes) as lists of IdentityImage."""
    by_identity: dict[str, list[IdentityImage]] = defaultdict(list)
    for im in images:
        by_identity[im.identity].append(im)
    identities = sorted(by_identity)
    enrolled = set(rng.permutation(identities)[: round(ENROLLED_SHARE * len(identities))].tolist())
    gallery, probes, strangers = [], [], []
    for identity in identities:
        members = [by_identity[identity][k] for k in rng.permutation(len(by_identity[identity]))]
        if identity in enrolled:
            n = max(1, math.floor(GALLERY_SHARE * len(members)))
            gallery += members[:n]
            probes += members[n:]
        elif not any(same_person(identity, e) for e in enrolled):
            strangers += members
    return gallery, probes, strangers


def evaluate_split(
    embeddings: dict[str, np.ndarray | None],
    gallery: list[IdentityImage],
    probes: list[IdentityImage],
    strangers: list[IdentityImage],
    policy: MatchPolicy,
) -> dict[str, float | int]:
    people = {name: k for k, name in enumerate(sorted({im.identity for im in gallery}))}
    enrolled = [im for im in gallery if embeddings.get(im.path) is not None]
    index = InMemoryGallery(
        np.stack([embeddings[im.path] for im in enrolled]), [people[im.identity] for im in enrolled]
    )

    def decide(im: IdentityImage):
        vector = embeddings.get(im.path)
        if vector is None:  # no face found: nobody is accepted
            return None
        return match_faces([vector], index.search, policy)[0]

    right = wrong = 0
    lowest_right = math.inf
    for im in probes:
        match = decide(im)
        if match is not None and match.known:
            right += match.person_id == people[im.identity]
            wrong += match.person_id != people[im.identity]
            if match.person_id == people[im.identity]:
                lowest_right = min(lowest_right, match.score)
    stranger_matches = [m for im in strangers if (m := decide(im)) is not None]
    accepted_strangers = sum(m.known for m in stranger_matches)
    return {
        "tpir": right / len(probes) if probes else math.nan,
        "fpir": accepted_strangers / len(strangers) if strangers else math.nan,
        "misidentified": wrong,
        "highest_stranger_score": max((m.score for m in stranger_matches), default=math.nan),
        "lowest_accepted_genuine_score": lowest_right,
        "probes": len(probes),
        "strangers": len(strangers),
        "gallery_images": len(enrolled),
        "gallery_people": len(people),
    }


def threshold_for_fpir(
    embeddings: dict[str, np.ndarray | None],
    gallery: list[IdentityImage],
    strangers: list[IdentityImage],
    policy: MatchPolicy,
    fpir: float = OPERATING_FPIR,
) -> float:
    """The lowest threshold at which at most ``fpir`` of the strangers are accepted: a stranger is accepted when
    its best person's pooled score reaches the threshold and beats the runner-up by the policy's margin, so the
    threshold is just above the score of the first stranger too many."""
    people = {name: k for k, name in enumerate(sorted({im.identity for im in gallery}))}
    kept = [im for im in gallery if embeddings.get(im.path) is not None]
    index = InMemoryGallery(np.stack([embeddings[im.path] for im in kept]), [people[im.identity] for im in kept])
    scores = []
    for im in strangers:
        vector = embeddings.get(im.path)
        ranked = index.pooled(vector, policy) if vector is not None else []
        if ranked:
            margin = ranked[0].score - ranked[1].score if len(ranked) > 1 else ranked[0].score
            if margin >= policy.margin:
                scores.append(ranked[0].score)
    allowed = math.floor(fpir * len(strangers))
    if len(scores) <= allowed:
        return -1.0
    return float(np.nextafter(sorted(scores, reverse=True)[allowed], np.inf))


def extra_stranger_rate(
    pictures: list[list[np.ndarray]],
    gallery: list[IdentityImage],
    embeddings: dict[str, np.ndarray | None],
    policy: MatchPolicy,
) -> float:
    """Share of the faces in unrelated group photos accepted as someone (all faces of a photo at once)."""
    people = {name: k for k, name in enumerate(sorted({im.identity for im in gallery}))}
    kept = [im for im in gallery if embeddings.get(im.path) is not None]
    index = InMemoryGallery(np.stack([embeddings[im.path] for im in kept]), [people[im.identity] for im in kept])
    faces = accepted = 0
    for vectors in pictures:
        matches = match_faces(vectors, index.search, policy)
        faces += len(matches)
        accepted += sum(m.known for m in matches)
    return accepted / faces if faces else math.nan


def spread(values: list[float]) -> dict[str, float]:
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        "min": float(arr.min()),
        "max": float(arr.max()),
    }


def closest_cross_set(embeddings: dict[str, np.ndarray | None], images: list[IdentityImage], top: int = 3):
    """The cross-set identity pairs with the highest image similarity (candidates for KNOWN_SAME_PERSON)."""
    kept = [im for im in images if embeddings.get(im.path) is not None]
    matrix = np.stack([embeddings[im.path] for im in kept])
    sims = matrix @ matrix.T
    best: dict[tuple[str, str], float] = {}
    for i, a in enumerate(kept):
        for j in range(i + 1, len(kept)):
            b = kept[j]
            if a.set != b.set:
                key = tuple(sorted((a.identity, b.identity)))
                best[key] = max(best.get(key, -1.0), float(sims[i, j]))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:top]
    return [{"identities": list(k), "max_similarity": round(v, 3)} for k, v in ranked]


def evaluate_pack(
    embeddings: dict[str, np.ndarray | None],
    images: list[IdentityImage],
    policy: MatchPolicy,
    *,
    splits: int = SPLITS,
    seed: int = 0,
    extra_strangers: list[list[np.ndarray]] | None = None,
) -> dict:
    plain: list[dict] = []
    extra: list[float] = []
    calibrated: list[dict] = []
    thresholds: list[float] = []
    operating: list[dict] = []
    operating_thresholds: list[float] = []
    for s in range(splits):
        gallery, probes, strangers = split(images, np.random.default_rng(seed + s))
        plain.append(evaluate_split(embeddings, gallery, probes, strangers, policy))
        if extra_strangers:
            extra.append(extra_stranger_rate(extra_strangers, gallery, embeddings, policy))
        kept = [im for im in gallery if embeddings.get(im.path) is not None]
        ids = {name: k for k, name in enumerate(sorted({im.identity for im in kept}))}
        cal = calibrate_arrays(
            np.stack([embeddings[im.path] for im in kept]),
            [ids[im.identity] for im in kept],
            partial(pool_scores, top_k=policy.top_k, max_weight=policy.max_weight),
            current_threshold=policy.threshold,
            target_far=CALIBRATION_TARGET_FAR,
        )
        thresholds.append(cal.proposed_threshold)
        local = MatchPolicy(cal.proposed_threshold, policy.margin, policy.top_k, policy.max_weight)
        calibrated.append(evaluate_split(embeddings, gallery, probes, strangers, local))
        at = threshold_for_fpir(embeddings, gallery, strangers, policy)
        operating_thresholds.append(at)
        point = MatchPolicy(at, policy.margin, policy.top_k, policy.max_weight)
        operating.append(evaluate_split(embeddings, gallery, probes, strangers, point))
    out = {
        "fpir": spread([r["fpir"] for r in plain])["mean"],
        "tpir": spread([r["tpir"] for r in plain])["mean"],
        "fpir_spread": spread([r["fpir"] for r in plain]),
        "tpir_spread": spread([r["tpir"] for r in plain]),
        "misidentified": sum(r["misidentified"] for r in plain),
        "highest_stranger_score": max(r["highest_stranger_score"] for r in plain),
        "lowest_accepted_genuine_score": min(r["lowest_accepted_genuine_score"] for r in plain),
        "threshold": policy.threshold,
        "margin": policy.margin,
        "splits": splits,
        "probes_per_split": spread([r["probes"] for r in plain]),
        "strangers_per_split": spread([r["strangers"] for r in plain]),
        "calibrated": {
            "target_far": CALIBRATION_TARGET_FAR,
            "threshold": spread(thresholds),
            "fpir": spread([r["fpir"] for r in calibrated]),
            "tpir": spread([r["tpir"] for r in calibrated]),
        },
        "at_fpir_1e-2": {
            "threshold": spread(operating_thresholds),
            "fpir": spread([r["fpir"] for r in operating]),
            "tpir": spread([r["tpir"] for r in operating]),
            "misidentified": sum(r["misidentified"] for r in operating),
        },
    }
    if extra:
        out["fpir_pascal"] = spread(extra)["mean"]
        out["fpir_pascal_spread"] = spread(extra)
        out["pascal_faces"] = sum(len(p) for p in extra_strangers or [])
    return out


def sweep(embeddings, images, *, thresholds, margins, splits: int = SPLITS) -> list[dict]:
    """fpir/tpir over a grid of thresholds and margins (how the shipped values were chosen)."""
    rows = []
    for margin in margins:
        for threshold in thresholds:
            r = evaluate_pack(embeddings, images, MatchPolicy(threshold, margin), splits=splits)
            rows.append(
                {
                    "threshold": threshold,
                    "margin": margin,
                    "fpir": r["fpir"],
                    "tpir": r["tpir"],
                    "fpir_max": r["fpir_spread"]["max"],
                    "tpir_min": r["tpir_spread"]["min"],
                }
            )
    return rows


def run(
    data_dir: Path,
    *,
    packs: list[str] | None = None,
    weights: Path | None = None,
    splits: int = SPLITS,
    threads: int = 0,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    embeddings_by_pack: dict[str, dict] | None = None,
) -> dict:
    """{"openset": {pack: {...}}}; embeddings_by_pack (path -> vector) skips the engine (tests, reruns)."""
    images = load_identities(data_dir)
    results: dict = {}
    for pack in packs or list(DEFAULT_POLICIES):
        if embeddings_by_pack and pack in embeddings_by_pack:
            embeddings, pictures = embeddings_by_pack[pack], None
        else:
            analyzer = pack_analyzer(pack, weights=weights, threads=threads)
            embeddings = embed_identities(analyzer, data_dir, images)[0]
            pictures = embed_group_photos(analyzer, data_dir)
        policy = MatchPolicy(**DEFAULT_POLICIES[pack])
        results[pack] = evaluate_pack(embeddings, images, policy, splits=splits, extra_strangers=pictures)
        results[pack]["closest_cross_set_identities"] = closest_cross_set(embeddings, images)
        log(f"openset {pack}: fpir {results[pack]['fpir']:.4f} tpir {results[pack]['tpir']:.4f}")
    return {"openset": results}


def pack_analyzer(pack: str, *, weights: Path | None = None, threads: int = 0) -> FaceAnalyzer:
    store = ModelStore(root=weights) if weights else ModelStore()
    factory = SessionFactory(RuntimeOptions(intra_op_threads=threads))
    return FaceAnalyzer.from_pack(pack, store, factory, with_emotion=False)


def embed_pack(
    pack: str, data_dir: Path, images: list[IdentityImage], *, weights: Path | None = None, threads: int = 0
) -> dict[str, np.ndarray | None]:
    return embed_identities(pack_analyzer(pack, weights=weights, threads=threads), data_dir, images)[0]


def embed_group_photos(analyzer, data_dir: Path) -> list[list[np.ndarray]]:
    """Embeddings of every face in the PASCAL VOC group photos (group/dlib_pascal_voc: Flickr strangers, 2-7
    faces a photo, none of them in identities/), one list per photo."""
    folder = data_dir / "group" / "dlib_pascal_voc"
    pictures = []
    for path in sorted(folder.glob("*.jpg")):
        faces = analyzer.analyze(decode_image(path), emotion=False)
        pictures.append([f.embedding for f in faces if f.embedding is not None])
    return pictures


def format_table(results: dict) -> str:
    lines = [
        "open set (70% enrolled)   thr    margin  FPIR mean (std, max)       TPIR mean (std, min)"
        "       calibrated thr / FPIR / TPIR    at FPIR<=0.01: thr / TPIR (min)"
    ]
    for pack, r in results.get("openset", {}).items():
        f, t, c, o = r["fpir_spread"], r["tpir_spread"], r["calibrated"], r["at_fpir_1e-2"]
        lines.append(
            f"  {pack:<22} {r['threshold']:.3f}  {r['margin']:.3f}"
            f"   {f['mean']:.4f} ({f['std']:.4f}, {f['max']:.4f})"
            f"    {t['mean']:.4f} ({t['std']:.4f}, {t['min']:.4f})"
            f"    {c['threshold']['mean']:.3f} / {c['fpir']['mean']:.4f} / {c['tpir']['mean']:.4f}"
            f"       {o['threshold']['mean']:.3f} / {o['tpir']['mean']:.4f} ({o['tpir']['min']:.4f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pack", action="append", dest="packs", choices=sorted(DEFAULT_POLICIES))
    parser.add_argument("--splits", type=int, default=SPLITS)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sweep", action="store_true", help="print fpir/tpir over thresholds and margins")
    args = parser.parse_args(argv)
    if not (args.data / "identities" / "identities.csv").is_file():
        print(f"no face data at {args.data}", file=sys.stderr)
        return 2
    if args.sweep:
        images = load_identities(args.data)
        for pack in args.packs or list(DEFAULT_POLICIES):
            embeddings = embed_pack(pack, args.data, images, weights=args.weights, threads=args.threads)
            for row in sweep(
                embeddings,
                images,
                thresholds=np.round(np.arange(0.20, 0.56, 0.02), 2).tolist(),
                margins=[0.0, 0.03, 0.05, 0.08],
                splits=args.splits,
            ):
                print(pack, json.dumps(row))
        return 0
    results = run(args.data, packs=args.packs, weights=args.weights, splits=args.splits, threads=args.threads)
    print(format_table(results))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
