"""Gallery search: identify latency and recall@1 of pgvector's HNSW index against an exact search.

    python -m bench search --sizes 1000,10000,100000 [--queries 100] [--json OUT.json]

For each gallery size N (synthetic but identity-clustered 512-d arcface_mbf embeddings: `--per-identity`
noisy samples around each identity's centre; by default same-person cosine ~0.72 and different-person
cosine sd ~0.07, as measured on real ArcFace embeddings of the shared identities, so the people are distinct
clusters and recall means something; --effective-dim 512 --noise 1.0 is the isotropic worst case):
  1. N rows are loaded into a database of its own (facesite_bench_search, made with the project's
     migrations on the configured Postgres, dropped afterwards unless --keep or --reuse) with the HNSW index
     dropped;
  2. the index is built as the migration defines it (m=16, ef_construction=64), timed (build_s), with
     maintenance_work_mem as given (pgvector builds much slower when the graph does not fit);
  3. exact: the real recognition.services.matching.identify (selectors.search_gallery + pooling + decision)
     for each probe in a transaction that drops the index and is rolled back: PostgreSQL scans every vector;
  4. hnsw: the same probes through the same identify, now on the index (EXPLAIN is checked to say so).
Probes are fresh noisy samples of enrolled identities. recall_at_1: share of probes whose nearest person
(Match.candidate_id) through HNSW is the exact search's; accuracy: share whose nearest person is the true one.
Latency: median and p95 ms per identify call after --warmup calls on probes of their own (a server that has
been answering has its index in shared_buffers; after a restart give enough to read it in, e.g. 500 at 1M).
Memory: the index's size on disk (what PostgreSQL must keep cached for fast queries) and the table's.
Sizes are loaded incrementally (each size's rows extend the previous size's).

The 1M point takes long to make here (load + index build, see RESULTS.md): `--reuse` keeps its bench
database (facesite_bench_search_kept, which a run without --reuse never drops) and, on the next run, takes
the rows and index it already holds (made with the same data parameters, checked) and reports the load and
build times measured when they were made:

    python -m bench search --sizes 1000000 --reuse     # first run: generates and keeps; later runs: queries only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.harness import (
    BenchSetupError,
    LoadMonitor,
    bench_database,
    load1,
    machine,
    print_table,
    setup_django,
    summary_ms,
    write_json,
)
from recognition.domain.pack import current_model_version

BENCH_DB = "facesite_bench_search"
KEPT_DB = "facesite_bench_search_kept"  # --reuse: a separate database, so that a plain run never drops it
MODEL = "arcface_mbf"
DIM = 512
INDEX = "hnsw_arcface_mbf"


class ClusteredGallery:
    """Deterministic identity-clustered unit vectors: row i belongs to identity i // per_identity.

    Identity centres are random directions; with `effective_dim` (< DIM) their distribution is anisotropic
    (variances decaying exponentially along a random rotation, with that participation ratio), so that people
    are not all equally far apart: real ArcFace embeddings of different people have cosine sd ~0.07 (measured
    on the shared identities), isotropic 512-d ones ~0.044. Isotropic centres (effective_dim=None) give no
    gradient between clusters, the worst case for a graph index."""

    def __init__(
        self, *, seed: int, per_identity: int, noise: float, effective_dim: int | None = None
    ) -> None:
        self.seed, self.per_identity, self.noise = seed, per_identity, noise
        self.scales, self.rotation = None, None
        if effective_dim and effective_dim < DIM:
            self.scales = np.sqrt(_decay_for_participation(effective_dim)).astype(np.float32)
            q, _ = np.linalg.qr(np.random.default_rng([seed, 0]).standard_normal((DIM, DIM)))
            self.rotation = q.astype(np.float32)

    def centre(self, identity: np.ndarray) -> np.ndarray:
        out = np.empty((len(identity), DIM), dtype=np.float32)
        for k, ident in enumerate(identity):
            out[k] = np.random.default_rng([self.seed, int(ident)]).standard_normal(DIM)
        if self.scales is not None:
            out = (out * self.scales) @ self.rotation.T
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def sample(self, identity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # noise of norm `noise` (in expectation) around the unit centre: cosine to it ~ 1/sqrt(1+noise^2)
        noisy = self.centre(identity) + rng.standard_normal((len(identity), DIM)).astype(np.float32) * (
            self.noise / np.sqrt(DIM)
        )
        return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)

    def rows(self, start: int, stop: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 1, start])
        return self.sample(np.arange(start, stop) // self.per_identity, rng)


def _decay_for_participation(target: float) -> np.ndarray:
    """Variances exp(-i / tau), i < DIM, with tau chosen so that (sum v)^2 / sum v^2 == target."""
    lo, hi = 0.1, 10.0 * DIM
    for _ in range(60):
        tau = (lo + hi) / 2
        v = np.exp(-np.arange(DIM) / tau)
        if v.sum() ** 2 / (v**2).sum() < target:
            lo = tau
        else:
            hi = tau
    return v


def load_rows(gallery: ClusteredGallery, start: int, stop: int, chunk: int = 20_000) -> None:
    """Rows start..stop-1: people, enrolled face images and embeddings (COPY, binary vectors)."""
    from django.db import connection
    from pgvector.psycopg import register_vector

    per = gallery.per_identity
    first_person, last_person = start // per + 1, (stop - 1) // per + 1
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO recognition_person (id, display_name, slug, notes, is_active, awaiting_approval, "
            "created_at, updated_at) "
            "SELECT i, 'person ' || i, 'person-' || i, '', true, false, now(), now() "
            "FROM generate_series(%s, %s) i "
            "ON CONFLICT (id) DO NOTHING",
            [first_person, last_person],
        )
        cursor.execute(
            "INSERT INTO recognition_faceimage (id, person_id, file, sha256, original_name, source, status, "
            "reject_reason, reject_code, status_before_delete, quality, created_at, processed_at) "
            "SELECT i, (i - 1) / %s + 1, 'bench/' || i || '.jpg', md5(i::text) || md5(i::text), '', "
            "'import', "
            "'enrolled', '', '', '', '{}'::jsonb, now(), now() FROM generate_series(%s, %s) i",
            [per, start + 1, stop],
        )
        raw = connection.connection
        register_vector(raw)
        with raw.cursor() as cur:
            with cur.copy(
                "COPY recognition_faceembedding (face_image_id, person_id, model_name, model_version, "
                "vector, created_at) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "int8", "varchar", "varchar", "vector", "timestamptz"])
                stamp = dt.datetime.now(dt.UTC)
                version = current_model_version(MODEL) or ""  # search compares the current version only
                for lo in range(start, stop, chunk):
                    hi = min(stop, lo + chunk)
                    vectors = gallery.rows(lo, hi)
                    for k in range(hi - lo):
                        i = lo + k
                        copy.write_row([i + 1, i // per + 1, MODEL, version, vectors[k], stamp])
        cursor.execute(
            "ANALYZE recognition_person; ANALYZE recognition_faceimage; ANALYZE recognition_faceembedding"
        )


def gallery_state(params: dict) -> tuple[int, dict]:
    """(rows already loaded, what was recorded when they were made) of a reused bench database; refuses rows
    made with other data parameters, which would make the figures meaningless."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_search_meta (key text PRIMARY KEY, value jsonb)")
        cursor.execute("SELECT count(*) FROM recognition_faceembedding")
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT value FROM bench_search_meta WHERE key = 'gallery'")
        found = cursor.fetchone()
    meta = json.loads(found[0]) if found else {}  # Django leaves jsonb as text
    if rows and meta.get("params") != params:
        raise BenchSetupError(
            f"the kept bench database holds {rows} rows made with {meta.get('params')}, not {params}:"
            " run once without --reuse to start again"
        )
    return rows, meta


def save_gallery_state(meta: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_search_meta (key, value) VALUES ('gallery', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [json.dumps(meta)],
        )


def index_exists() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [INDEX])
        return cursor.fetchone() is not None


def index_definition() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX])
        row = cursor.fetchone()
    if row is None:
        raise BenchSetupError(f"index {INDEX} not found: are the recognition migrations applied?")
    return row[0]


def drop_index() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def build_index(definition: str, maintenance_work_mem: str) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = %s", [maintenance_work_mem])
        t0 = time.perf_counter()
        cursor.execute(definition)
        seconds = time.perf_counter() - t0
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("ANALYZE recognition_faceembedding")
    return seconds


def relation_mb(name: str, total: bool = False) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {'pg_total_relation_size' if total else 'pg_relation_size'}(%s::regclass)", [name]
        )
        return round(cursor.fetchone()[0] / 2**20, 1)


def uses_index(vector: np.ndarray) -> bool:
    """Whether the planner reads the HNSW index for search_gallery's nearest-neighbour query."""
    from recognition.selectors import explain_gallery_search

    return f"Index Scan using {INDEX}" in explain_gallery_search(vector, model_name=MODEL)


def exact_identify_all(probes: np.ndarray, warmup: np.ndarray) -> tuple[list[float], list[int | None]]:
    """identify_all with no HNSW index: it is dropped in a transaction that is rolled back afterwards."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {INDEX}")
        result = identify_all(probes, warmup)
        if uses_index(probes[0]):
            raise BenchSetupError("the exact search still reads the HNSW index")
        transaction.set_rollback(True)
    return result


def identify_all(probes: np.ndarray, warmup: np.ndarray) -> tuple[list[float], list[int | None]]:
    from recognition.domain.matching import MatchPolicy
    from recognition.domain.pack import DEFAULT_POLICIES
    from recognition.services.matching import identify

    policy = MatchPolicy(**DEFAULT_POLICIES["arcface"])
    for vector in warmup:
        identify([vector], model_name=MODEL, policy=policy)
    times, nearest = [], []
    for vector in probes:
        t0 = time.perf_counter()
        (match,) = identify([vector], model_name=MODEL, policy=policy)
        times.append(time.perf_counter() - t0)
        nearest.append(match.candidate_id)
    return times, nearest


def run(args) -> dict:
    from django.conf import settings
    from django.db import connection

    gallery = ClusteredGallery(
        seed=args.seed, per_identity=args.per_identity, noise=args.noise, effective_dim=args.effective_dim
    )
    params = {k: getattr(args, k) for k in ("seed", "per_identity", "noise", "effective_dim")}
    definition = index_definition()
    loaded, meta = gallery_state(params)
    if loaded and not index_exists():
        drop_index()  # a run stopped between loading and building: build again below
    figures: dict[str, dict] = {}
    load = LoadMonitor()
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgvector_version = cursor.fetchone()[0]
        cursor.execute("SHOW maintenance_work_mem")
        default_mwm = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    for size in args.sizes:
        if size < loaded:
            raise BenchSetupError(
                f"the kept bench database already holds {loaded} rows; sizes must be at least that"
                " (run without --reuse for smaller galleries)"
            )
        reused = size == loaded and index_exists() and meta.get("build_s") is not None
        if size > loaded:
            drop_index()
            t0 = time.perf_counter()
            load_rows(gallery, loaded, size)
            meta = {"params": params, "rows": size, "load_s": round(meta.get("load_s", 0) + time.perf_counter()
                                                                     - t0, 1)}  # fmt: skip
            save_gallery_state(meta)
            loaded = size
        if not reused:
            meta["build_s"] = round(build_index(definition, args.maintenance_work_mem), 2)
            meta["made"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            save_gallery_state(meta)
        build_s, load_s = meta["build_s"], meta["load_s"]
        load_build = load1()
        rng = np.random.default_rng([args.seed, 2, size])
        truth = rng.integers(0, size // args.per_identity, args.queries)
        probes = gallery.sample(truth, rng)
        truth_ids = truth + 1  # person ids start at 1
        n_exact = min(args.queries, args.exact_queries if size > 100_000 else args.queries)
        load.mark()
        warm_rng = np.random.default_rng([args.seed, 3, size])  # warm-up probes of their own, never timed
        warmup = gallery.sample(warm_rng.integers(0, size // args.per_identity, args.warmup), warm_rng)
        exact_times, exact_nearest = exact_identify_all(probes[:n_exact], warmup[: min(10, args.warmup)])
        load_exact = load1()
        hnsw_times, hnsw_nearest = identify_all(probes, warmup)
        load_hnsw = load.mark()
        exact_summary, hnsw_summary = summary_ms(exact_times), summary_ms(hnsw_times)
        agree = [h == e for h, e in zip(hnsw_nearest[:n_exact], exact_nearest, strict=True)]
        figures[str(size)] = {
            "p50_ms": hnsw_summary["median_ms"],
            "p95_ms": hnsw_summary["p95_ms"],
            "recall_at_1": round(sum(agree) / len(agree), 4),
            "build_s": round(build_s, 2),
            "accuracy": round(float(np.mean(np.array(hnsw_nearest) == truth_ids)), 4),
            "exact_p50_ms": exact_summary["median_ms"],
            "exact_p95_ms": exact_summary["p95_ms"],
            "exact_accuracy": round(float(np.mean(np.array(exact_nearest) == truth_ids[:n_exact])), 4),
            "speedup": round(exact_summary["median_ms"] / hnsw_summary["median_ms"], 1),
            "queries": args.queries,
            "exact_queries": n_exact,
            "index_used": uses_index(probes[0]),
            "index_mb": relation_mb(INDEX),
            "table_mb": relation_mb("recognition_faceembedding", total=True),
            "load_s": load_s,
            "made_earlier": reused,
            "made": meta.get("made"),
            "people": size // args.per_identity,
            "load1": {"exact": load_exact, "build": load_build, "hnsw": load_hnsw},
        }
        f = figures[str(size)]
        print(
            f"  {size}: hnsw p50 {f['p50_ms']} ms p95 {f['p95_ms']} ms recall@1 {f['recall_at_1']}; "
            "exact p50 "
            f"{f['exact_p50_ms']} ms; build {f['build_s']} s; index {f['index_mb']} MB (load {load_hnsw})",
            file=sys.stderr,
        )
    return {
        "search": figures,
        "setup": {
            **machine(),
            **load.as_dict(),
            "pgvector": pgvector_version,
            "model": MODEL,
            "dim": DIM,
            "per_identity": args.per_identity,
            "noise": args.noise,
            "effective_dim": args.effective_dim,
            "seed": args.seed,
            "maintenance_work_mem": args.maintenance_work_mem,
            "server_default_maintenance_work_mem": default_mwm,
            "index": definition,
            "search": "selectors.search_gallery via matching.identify (ef_search "
            f"{settings.GALLERY_EF_SEARCH}, iterative scan relaxed_order), one probe per call",
            "shared_buffers": shared_buffers,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench search",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="gallery sizes (embeddings), ascending")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--exact-queries", type=int, default=30, help="exact probes for sizes over 100k")
    parser.add_argument("--warmup", type=int, default=10, help="untimed searches first (exact: at most 10)")
    parser.add_argument("--per-identity", type=int, default=5)
    parser.add_argument(
        "--noise",
        type=float,
        default=0.63,
        help="noise norm around a centre (0.63: same-person cosine ~0.72)",
    )
    parser.add_argument(
        "--effective-dim",
        type=int,
        default=128,
        help="participation ratio of the identity centres (128: different-person cosine sd ~0.07, as "
        "measured on real ArcFace embeddings; 512: isotropic, the worst case for HNSW)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--maintenance-work-mem", default="1GB", help="for the index build")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (not the dev one)")
    parser.add_argument(
        "--reuse", action="store_true", help="take the rows and index a kept bench database holds, and keep it"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s)
    if not args.sizes or args.sizes[0] < args.per_identity:
        parser.error("--sizes must be gallery sizes of at least one identity")
    setup_django()
    with bench_database(KEPT_DB if args.reuse else BENCH_DB, keep=args.keep, reuse=args.reuse):
        figures = run(args)
    rows = [{"n": n, **f} for n, f in figures["search"].items()]
    print_table(
        rows,
        [
            ("n", "gallery", ""),
            ("p50_ms", "hnsw p50 ms", ".2f"),
            ("p95_ms", "hnsw p95 ms", ".2f"),
            ("recall_at_1", "recall@1", ".3f"),
            ("accuracy", "true@1", ".3f"),
            ("exact_p50_ms", "exact p50 ms", ".1f"),
            ("exact_p95_ms", "exact p95 ms", ".1f"),
            ("build_s", "build s", ".1f"),
            ("index_mb", "index MB", ".1f"),
            ("index_used", "index used", ""),
        ],
    )
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
