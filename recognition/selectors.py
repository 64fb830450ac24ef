"""Reads that matter in the identity domain."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Count, Q

from recognition.models import Enrollment, FaceImage


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


def batch_progress(batch: Enrollment) -> BatchProgress:
    """Counts by status of a batch's images, read from the images themselves (never a stale counter)."""
    status = FaceImage.Status
    counts = batch.images.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=status.PENDING)),
        enrolled=Count("pk", filter=Q(status=status.ENROLLED)),
        rejected=Count("pk", filter=Q(status=status.REJECTED)),
        deleted=Count("pk", filter=Q(status=status.DELETED)),
    )
    return BatchProgress(
        batch_id=batch.pk, state=batch.state, duplicates=batch.duplicates, errors=batch.errors, **counts
    )


# --- the gallery -----------------------------------------------------------------------------------------
# Searchable = an enrolled image of an active person outside the recycle bin; every search and calibration reads
# this.
def searchable_embeddings(model_name: str):
    from recognition.models import FaceEmbedding

    return FaceEmbedding.objects.filter(
        model_name=model_name,
        face_image__status=FaceImage.Status.ENROLLED,
        person__deleted_at__isnull=True,
        person__is_active=True,
    )


def _cosine_distance(vector, model_name: str):
    """The expression the partial HNSW index of `model_name` is built on (same cast, same operator)."""
    from django.db.models.functions import Cast
    from pgvector.django import CosineDistance, VectorField

    from recognition.models import EMBEDDING_DIMENSIONS

    if model_name not in EMBEDDING_DIMENSIONS:
        raise KeyError(f"unknown embedding model {model_name!r}; known: {sorted(EMBEDDING_DIMENSIONS)}")
    values = [float(x) for x in vector]
    if len(values) != EMBEDDING_DIMENSIONS[model_name]:
        raise ValueError(f"{model_name} vectors have"
                         f" {EMBEDDING_DIMENSIONS[model_name]} dimensions, not {len(values)}")
    return CosineDistance(Cast("vector", VectorField(dimensions=EMBEDDING_DIMENSIONS[model_name])), values)


def _pgvector_version() -> tuple[int, ...]:
    from django.db import connection

    if not hasattr(connection, "_facesite_pgvector"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        connection._facesite_pgvector = tuple(int(p) for p in row[0].split(".")[:2]) if row else (0,)
    return connection._facesite_pgvector


def search_gallery(vector, *, model_name: str, limit: int = 64, candidates: int = 8) -> list:
    """Hits (person, cosine similarity) for a query face: the `limit` nearest searchable embeddings by the
    HNSW index, then every searchable embedding of the `candidates` nearest people, exactly, so the
    per-person pooling (matching.pool_scores) sees each candidate's whole gallery, not the index's pick."""
    from django.db import connection, transaction

    from recognition.services.matching import Hit

    distance = _cosine_distance(vector, model_name)
    searchable = searchable_embeddings(model_name)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Filters (recycle bin, image status) are applied after the index scan; an iterative scan keeps
            # reading the index until `limit` rows pass them (pgvector >= 0.8), ef_search widens each step.
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(40, limit)])
            if _pgvector_version() >= (0, 8):
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        by_distance = searchable.annotate(distance=distance).order_by("distance")
        nearest = list(by_distance.values_list("person_id", flat=True)[:limit])
    people = list(dict.fromkeys(nearest))[:candidates]
    if not people:
        return []
    rows = searchable.filter(person_id__in=people).annotate(distance=distance)
    rows = rows.values_list("person_id", "distance")
    return [Hit(int(person_id), 1.0 - float(dist)) for person_id, dist in rows]


def person_hits(vector, *, person_id: int, model_name: str) -> list:
    """Hits for every searchable embedding of one person (1:1 verification against a person)."""
    from recognition.services.matching import Hit

    rows = (
        searchable_embeddings(model_name)
        .filter(person_id=person_id)
        .annotate(distance=_cosine_distance(vector, model_name))
        .values_list("person_id", "distance")
    )
    return [Hit(int(p), 1.0 - float(d)) for p, d in rows]


def gallery_arrays(model_name: str, *, limit: int | None = None):
    """(vectors N x D float32, person ids N, face image ids N) of the searchable gallery, for calibration."""
    import numpy as np

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
