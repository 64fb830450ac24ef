"""What every benchmark part shares: timing summaries (median, p95), load average, a table, JSON, clear
failures when ../shared data or model files are missing, video frames, and a bench database of its own."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import socket
import statistics
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO_ROOT.parent / "shared" / "data" / "faces"
HAMILTON = SHARED_FACES / "video" / "facerec_short_hamilton_clip.mp4"
FACENET_VIDEO = SHARED_FACES / "video" / "facenet_pytorch_video.mp4"
CAST = {1: "facerec_lin_manuel_miranda", 2: "facerec_alex_lacamoire"}  # the Hamilton clip's performers


class BenchSetupError(SystemExit):
    """A benchmark cannot run here (missing data, models, packages): exits 2 with the reason."""

    def __init__(self, message: str) -> None:
        print(f"bench: {message}", file=sys.stderr)
        super().__init__(2)


# ---- figures -----------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median and p95 in milliseconds of per-item times given in seconds."""
    if not seconds:
        return {"median_ms": float("nan"), "p95_ms": float("nan"), "n": 0}
    return {
        "median_ms": round(1000 * statistics.median(seconds), 2),
        "p95_ms": round(1000 * percentile(seconds, 95), 2),
        "n": len(seconds),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def load1() -> float:
    """The 1-minute load average (other workers share these cores: kept next to every figure)."""
    return round(os.getloadavg()[0], 2)


class LoadMonitor:
    """Collects the 1-minute load average at chosen points of a run (`mark()`), for the report."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def mark(self) -> float:
        value = load1()
        self.samples.append(value)
        return value

    def as_dict(self) -> dict[str, float]:
        if not self.samples:
            return {}
        return {
            "load1_min": min(self.samples),
            "load1_median": round(median(self.samples), 2),
            "load1_max": max(self.samples),
        }


def machine() -> dict:
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load1_at_start": load1(),
        "gpu": "none (CPU only)",
    }


def print_table(rows: list[dict], columns: list[tuple[str, str, str]], *, file=None) -> None:
    """columns: (key, header, format spec such as '.1f'); missing values print as '-'."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        line = []
        for key, _, spec in columns:
            value = row.get(key)
            line.append("-" if value is None else (format(value, spec) if spec else str(value)))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for k, line in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ),
            file=file or sys.stdout,
        )
        if k == 0:
            print("  ".join("-" * w for w in widths), file=file or sys.stdout)


def write_json(path: Path | None, figures: dict) -> None:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(figures, indent=2, default=_plain) + "\n")
        print(f"figures written to {path}", file=sys.stderr)


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


# ---- inputs ------------------------------------------------------------------------------------------------
def require_file(path: Path, what: str) -> Path:
    if not Path(path).is_file():
        raise BenchSetupError(
            f"{what} not found at {path} (the shared data sits beside the repo as ../shared)"
        )
    return Path(path)


def require_models(names: Sequence[str]) -> None:
    """Fail with the model store's own message (which says to run fetch_models) when a file is missing."""
    from recognition.engine.model_store import ModelCorrupt, ModelMissing, ModelStore

    store = ModelStore()
    for name in names:
        try:
            store.path(name)
        except (ModelMissing, ModelCorrupt) as exc:
            raise BenchSetupError(f"model {name}: {exc}") from None


def pack_models(pack: str) -> list[str]:
    from recognition.engine.model_store import PACKS

    if pack not in PACKS:
        raise BenchSetupError(f"unknown model pack {pack!r}; known: {sorted(PACKS)}")
    return [PACKS[pack][k] for k in ("detector", "embedder", "emotion") if PACKS[pack].get(k)]


def read_frames(path: Path, size: tuple[int, int] | None = None, limit: int = 100_000):
    """Every frame of a video (BGR), resized to size=(w, h) when given; decoding is deterministic, so separate
    processes reading the same file get the same frames (checked with `frames_digest`)."""
    import cv2

    require_file(path, "video")
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        if size and (frame.shape[1], frame.shape[0]) != tuple(size):
            frame = cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)
        frames.append(frame)
    capture.release()
    if not frames:
        raise BenchSetupError(f"no frame could be decoded from {path}")
    return frames


def in_memory_matcher(vectors, person_ids, names: dict[int, str], pack: str):
    """A LiveSession matcher over an in-memory gallery, with the product's decision code (pooling, threshold,
    margin, one identity per frame) and the pack's shipped policy."""
    import numpy as np

    from recognition.domain.matching import InMemoryGallery, MatchPolicy, match_faces
    from recognition.domain.pack import DEFAULT_POLICIES
    from recognition.engine.live import Match

    gallery = InMemoryGallery(np.array(vectors), list(person_ids))
    policy = MatchPolicy(**DEFAULT_POLICIES[pack])

    def matcher(embeddings):
        return [
            Match(d.person_id, names[d.person_id] if d.known else "unknown", d.score, d.margin,
                  candidate_id=d.candidate_id, threshold=policy.threshold)  # fmt: skip
            for d in match_faces(list(embeddings), gallery.search, policy)
        ]

    return matcher


def frames_digest(frames) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(frame.tobytes())
    return digest.hexdigest()[:16]


def parse_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- the bench database ------------------------------------------------------------------------------------
def setup_django(**env: str) -> None:
    """Django with the project's settings; `env` (e.g. FACESITE_MEDIA_ROOT) is set before they are read."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "facesite.settings", **env})
    import django

    django.setup()


@contextmanager
def bench_database(name: str, *, keep: bool = False, reuse: bool = False) -> Iterator[str]:
    """A database of its own, created with the project's migrations on the same server as the configured one
    (the embedded Postgres is started when it is the configured one) and dropped afterwards; the dev
    database's data is never touched. Yields a DATABASE_URL for subprocesses. With `keep` it is left for a
    later look; with `reuse` a database of that name left by an earlier run is taken as it is (migrated, not
    emptied) and kept again, so that a large generated data set is made once."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if settings.EMBEDDED_POSTGRES:
        from facesite.local.postgres import EmbeddedPostgres

        EmbeddedPostgres.from_settings().ensure_running()
    old_name = connection.settings_dict["NAME"]
    exists = reuse and database_exists(name)
    connection.close()
    if connection.pool is not None:
        connection.close_pool()  # Django's pool is made once per alias: it would keep the configured database
    if exists:
        connection.settings_dict["NAME"] = name
        call_command("migrate", verbosity=0, interactive=False)
        print(f"reusing bench database {name}", file=sys.stderr)
    else:
        connection.settings_dict["TEST"]["NAME"] = name
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    params = connection.settings_dict
    try:
        yield f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"
    finally:
        if keep or reuse:
            connection.close()
            if connection.pool is not None:
                connection.close_pool()
            connection.settings_dict["NAME"] = old_name
            print(f"bench database {name} kept", file=sys.stderr)
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def database_exists(name: str) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None
