"""Reads that matter in the identity domain."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Cast
from pgvector import Vector
from pgvector.django import CosineDistance, VectorField

from recognition.conf import recognition_settings
from recognition.domain.matching import Hit
from recognition.domain.pack import EMBEDDING_DIMENSIONS, ModelVersionMismatch, current_model_version
from recognition.models import Enrollment, FaceEmbedding, FaceImage, IdentityConflict


@dataclass(frozen=True)
class BatchProgress:
    batch_id: int
    state: str
    total: int  # images taken in (stored); refused files are in `errors`
    pending: int
    enrolled: int
    rejected: int
    deleted: int
    duplicates: int
    errors: list[dict]

    @property
    def processed(self) -> int:
        return self.total - self.pending

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.processed / self.total)

    def as_dict(self) -> dict:
        return {**asdict(self), "processed": self.processed, "percent": self.percent}


_COUNTED = ("pending", "enrolled", "rejected", "deleted")  # FaceImage statuses counted per batch or person


def _image_counts(prefix: str) -> dict:
    """Count expressions of images by status: n_total, n_pending, ...; prefix "images__" from a batch or person."""
    return {
        "n_total": Count(f"{prefix}pk"),
        **{f"n_{status}": Count(f"{prefix}pk", filter=Q(**{f"{prefix}status": status})) for status in _COUNTED},
    }


def with_image_counts(queryset):
    """Batches or people, each with its images counted by status in the same query (n_total, n_pending, ...)."""
    return queryset.annotate(**_image_counts("images__"))


def batch_progress(batch: Enrollment) -> BatchProgress:
    """Counts by status of a batch's images, read from the images themselves (never a stale counter): from the
    annotations of with_image_counts when the batch has them, else one query."""
    counts = vars(batch) if hasattr(batch, "n_total") else batch.images.aggregate(**_image_counts(""))
    return BatchProgress(
        batch_id=batch.pk, state=batch.state, duplicates=batch.duplicates, errors=batch.errors,
        total=counts["n_total"], **{status: counts[f"n_{status}"] for status in _COUNTED},
    )  # fmt: skip


def batch_conflicts(batch: Enrollment) -> list[dict]:
    """The identity conflicts a batch raised (faces that looked like another person), for its staff page."""
    rows = IdentityConflict.objects.filter(enrollment=batch).order_by("pk").values(
        "pk", "kind", "person_id", "person__display_name", "other_id", "other__display_name", "score", "refused",
        "images", "resolution",
    )  # fmt: skip
    return [
        {"id": r["pk"], "kind": r["kind"], "person_id": r["person_id"], "person": r["person__display_name"],
         "other_id": r["other_id"], "other": r["other__display_name"], "score": round(r["score"], 3),
         "refused": r["refused"], "images": len(r["images"]), "resolution": r["resolution"] or "open"}
        for r in rows
    ]  # fmt: skip


# --- the gallery -----------------------------------------------------------------------------------------
# Searchable = an enrolled image of an active person outside the recycle bin, not waiting for staff approval; every
# search, calibration and count of the gallery reads this. The integrity check also sees people waiting for
# approval (ENROLLED), so two sign-ups waiting with one face are still a conflict.
ENROLLED = Q(face_image__status=FaceImage.Status.ENROLLED, person__deleted_at__isnull=True, person__is_active=True)
SEARCHABLE = ENROLLED & Q(person__awaiting_approval=False)


def searchable_embeddings(model_name: str, *, awaiting: bool = False):
    """The gallery of one embedding model, of its current version only (other weights give vectors that are not
    comparable); with `awaiting`, people waiting for approval too."""
    return FaceEmbedding.objects.filter(
        ENROLLED if awaiting else SEARCHABLE, _current_version(model_name), model_name=model_name
    )


def _current_version(model_name: str) -> Q:
    version = current_model_version(model_name)
    # A blank version was never recorded (rows written outside enrollment, e.g. by tests): compared as before.
    return Q() if version is None else Q(model_version__in=[version, ""])


def _refuse_other_versions(model_name: str, awaiting: bool) -> None:
    """ModelVersionMismatch when the gallery holds embeddings of `model_name` of other versions only."""
    rows = FaceEmbedding.objects.filter(ENROLLED if awaiting else SEARCHABLE, model_name=model_name)
    found = sorted(set(rows.exclude(_current_version(model_name)).values_list("model_version", flat=True)[:100]))
    if found:
        raise ModelVersionMismatch(model_name, current_model_version(model_name) or "", found)


def embedding_counts() -> list[dict]:
    """Per embedding model: embeddings, people, and how many a search would look at now."""
    return list(
        FaceEmbedding.objects.values("model_name")
        .annotate(
            embeddings=Count("pk"), people=Count("person", distinct=True), searchable=Count("pk", filter=SEARCHABLE)
        )
        .order_by("model_name")
    )


def _cosine_distance(vector, model_name: str):
    """The expression the partial HNSW index of `model_name` is built on (same cast, same operator)."""
    return CosineDistance(Cast("vector", VectorField(dimensions=_dimensions(model_name))), _checked(vector, model_name))


def _dimensions(model_name: str) -> int:
    if model_name not in EMBEDDING_DIMENSIONS:
        raise KeyError(f"unknown embedding model {model_name!r}; known: {sorted(EMBEDDING_DIMENSIONS)}")
    return EMBEDDING_DIMENSIONS[model_name]


def _checked(vector, model_name: str) -> list[float]:
    values = [float(x) for x in vector]
    if len(values) != _dimensions(model_name):
        raise ValueError(f"{model_name} vectors have {_dimensions(model_name)} dimensions, not {len(values)}")
    return values


def _pgvector_version() -> tuple[int, ...]:
    if not hasattr(connection, "_facesite_pgvector"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        connection._facesite_pgvector = tuple(int(p) for p in row[0].split(".")[:2]) if row else (0,)
    return connection._facesite_pgvector


@functools.cache
def _gallery_search_sql(model_name: str, awaiting: bool = False) -> tuple[str, list]:
    """The query of search_gallery, made once per model: (SQL, its fixed params); the query vector goes in
    its three places. The searchable rows come from `searchable_embeddings`, compiled by the ORM, so the
    gallery's definition stays in one place; the distance is the expression the model's HNSW index is on."""
    searchable_sql, searchable_params = (
        searchable_embeddings(model_name, awaiting=awaiting).values_list("person_id", "vector").query.sql_with_params()
    )
    distance = f'"vector"::vector({_dimensions(model_name)}) <=> %s::vector'
    # The iterative scan's order is relaxed (see _index_settings), so candidates are ranked by exact distance.
    query = (
        f"WITH gallery AS NOT MATERIALIZED ({searchable_sql}), "
        f"nearest AS MATERIALIZED (SELECT person_id, {distance} AS distance FROM gallery "
        f"ORDER BY {distance} LIMIT %s), "
        "candidates AS (SELECT person_id FROM nearest GROUP BY person_id ORDER BY min(distance) LIMIT %s) "
        f"SELECT person_id, {distance} FROM gallery WHERE person_id IN (SELECT person_id FROM candidates)"
    )
    return query, list(searchable_params)


def _index_settings(limit: int) -> list[str]:
    """Filters (recycle bin, image status) are applied after the index scan; an iterative scan keeps reading
    the index until `limit` rows pass them (pgvector >= 0.8). ef_search (GALLERY_EF_SEARCH, at least
    `limit`) sets how widely the graph is walked: recall against time."""
    settings = [f"SET LOCAL hnsw.ef_search = {max(recognition_settings().gallery_ef_search, int(limit))}"]
    if _pgvector_version() >= (0, 8):
        settings.append("SET LOCAL hnsw.iterative_scan = relaxed_order")
    return settings


def _gallery_search(vector, model_name: str, limit: int, candidates: int,
                    awaiting: bool = False) -> tuple[list[str], str, list]:  # fmt: skip
    """(index settings, query SQL, query params) of one search."""
    text = Vector(_checked(vector, model_name)).to_text()
    query, searchable_params = _gallery_search_sql(model_name, awaiting)
    return _index_settings(limit), query, [*searchable_params, text, text, int(limit), int(candidates), text]


def search_gallery(
    vector, *, model_name: str, limit: int = 64, candidates: int = 8, awaiting: bool = False
) -> list[Hit]:
    """Hits (person, cosine similarity) for a query face: the `limit` nearest searchable embeddings by the
    HNSW index, then every searchable embedding of the `candidates` nearest people, exactly, so the
    per-person pooling (matching.pool_scores) sees each candidate's whole gallery, not the index's pick.

    One round trip: the index settings, the index scan and the candidates' rescoring go to the server as one
    multi-statement query, which PostgreSQL runs as one implicit transaction (so SET LOCAL holds for it).
    With `awaiting`, people waiting for staff approval are searched too (the enrollment integrity check).
    Raises ModelVersionMismatch when the gallery holds embeddings of other model versions only."""
    settings, query, params = _gallery_search(vector, model_name, limit, candidates, awaiting)
    with connection.cursor() as cursor:
        cursor.execute("; ".join([*settings, query]), params)
        while cursor.description is None and cursor.nextset():
            pass  # past the SET statements' empty results
        rows = cursor.fetchall()
    if not rows:
        _refuse_other_versions(model_name, awaiting)
    return [Hit(int(person_id), 1.0 - float(dist)) for person_id, dist in rows]


def explain_gallery_search(vector, *, model_name: str, limit: int = 64, candidates: int = 8,
                           analyze: bool = False) -> str:  # fmt: skip
    """PostgreSQL's plan for search_gallery's query (with its index settings), e.g. to see that the model's
    HNSW index is read."""
    settings, query, params = _gallery_search(vector, model_name, limit, candidates)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in settings:
            cursor.execute(statement)
        cursor.execute(f"EXPLAIN {'(ANALYZE) ' if analyze else ''}{query}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)  # nothing to keep; ends the SET LOCALs
    return plan


def person_hits(vector, *, person_id: int, model_name: str) -> list[Hit]:
    """Hits for every searchable embedding of one person (1:1 verification against a person)."""
    rows = (
        searchable_embeddings(model_name)
        .filter(person_id=person_id)
        .annotate(distance=_cosine_distance(vector, model_name))
        .values_list("person_id", "distance")
    )
    return [Hit(int(p), 1.0 - float(d)) for p, d in rows]


def own_hits(vector, *, person_id: int, model_name: str) -> list[Hit]:
    """Hits for every embedding a person has, searchable or not (in the recycle bin, waiting for approval): what
    a new face of theirs must look like. Removing one's photos is no way to start over as someone else."""
    rows = (
        FaceEmbedding.objects.filter(person_id=person_id, model_name=model_name)
        .annotate(distance=_cosine_distance(vector, model_name))
        .values_list("person_id", "distance")
    )
    return [Hit(int(p), 1.0 - float(d)) for p, d in rows]


def gallery_arrays(model_name: str, *, limit: int | None = None):
    """(vectors N x D float32, person ids N, face image ids N) of the searchable gallery, for calibration."""
    rows = searchable_embeddings(model_name).order_by("pk")
    rows = rows.values_list("vector", "person_id", "face_image_id")
    if limit:
        rows = rows[:limit]
    rows = list(rows)
    if not rows:
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    vectors = np.stack([np.asarray(v, dtype=np.float32) for v, _, _ in rows])
    people = np.array([p for _, p, _ in rows], dtype=np.int64)
    return vectors, people, np.array([i for _, _, i in rows], dtype=np.int64)
