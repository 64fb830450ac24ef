"""The pgvector search on the real test database: what it may return, what it must never return."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from django.db import connection

from recognition.domain.matching import MatchPolicy
from recognition.domain.pack import DEFAULT_POLICIES
from recognition.models import EMBEDDING_DIMENSIONS, FaceEmbedding, FaceImage, PackSettings, Person
from recognition.selectors import search_gallery
from recognition.services import lifecycle
from recognition.services.matching import identify, pack_policy

pytestmark = pytest.mark.django_db
ARC, SFACE = "arcface_mbf", "sface_2021dec"


def unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.normal(size=dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def near(v: np.ndarray, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    w = v + noise * rng.normal(size=v.size) / np.sqrt(v.size)
    return (w / np.linalg.norm(w)).astype(np.float32)


def add_image(
    person: Person, vector: np.ndarray, model: str = ARC, status=FaceImage.Status.ENROLLED
) -> FaceImage:
    digest = hashlib.sha256(vector.tobytes() + model.encode()).hexdigest()
    image = FaceImage.objects.create(
        person=person, file=f"faces/{person.pk}/{digest}.jpg", sha256=digest, source="import", status=status
    )
    FaceEmbedding.objects.create(face_image=image, person=person, model_name=model, vector=vector)
    return image


@pytest.fixture
def gallery():
    rng = np.random.default_rng(7)
    people = {
        name: Person.objects.create(display_name=name, slug=name) for name in ("ann", "bob", "cat", "dan")
    }
    centres = {name: unit(rng, 512) for name in people}
    for name, person in people.items():
        for _ in range(3):
            add_image(person, near(centres[name], rng))
    return rng, people, centres


def test_search_finds_the_right_person_first(gallery):
    rng, people, centres = gallery
    hits = search_gallery(near(centres["cat"], rng), model_name=ARC)
    best = max(hits, key=lambda h: h.similarity)
    assert best.person_id == people["cat"].pk
    assert 0.5 < best.similarity <= 1.0
    # every embedding of each candidate person comes back (exact second stage), here all 12
    assert len(hits) == 12


def test_recycle_bin_people_and_deleted_images_are_never_returned(gallery):
    rng, people, centres = gallery
    lifecycle.move_person_to_recycle_bin(people["cat"])
    dan_images = list(people["dan"].images.all())
    lifecycle.move_images_to_recycle_bin(dan_images[:2])
    hits = search_gallery(near(centres["cat"], rng), model_name=ARC)
    assert people["cat"].pk not in {h.person_id for h in hits}
    dan_hits = [h for h in search_gallery(centres["dan"], model_name=ARC) if h.person_id == people["dan"].pk]
    assert len(dan_hits) == 1  # only the image left outside the bin
    # a query identical to a binned image finds neither it nor its person
    binned = FaceEmbedding.objects.filter(person=people["cat"]).first()
    assert people["cat"].pk not in {
        h.person_id for h in search_gallery(np.asarray(binned.vector), model_name=ARC)
    }
    # and the decision over the gallery does not accept a binned person either
    match = identify([near(centres["cat"], rng)], model_name=ARC, policy=MatchPolicy(0.3, 0.05))[0]
    assert match.person_id != people["cat"].pk


def test_pending_and_rejected_images_are_not_searched(gallery):
    rng, people, centres = gallery
    eve = Person.objects.create(display_name="eve", slug="eve")
    centre = unit(rng, 512)
    add_image(eve, near(centre, rng), status=FaceImage.Status.PENDING)
    add_image(eve, near(centre, rng), status=FaceImage.Status.REJECTED)
    assert eve.pk not in {h.person_id for h in search_gallery(centre, model_name=ARC)}


def test_another_models_embeddings_are_never_mixed_in(gallery):
    rng, people, centres = gallery
    sface_only = Person.objects.create(display_name="sam", slug="sam")
    sface_centre = unit(rng, 128)
    for _ in range(2):
        add_image(sface_only, near(sface_centre, rng), model=SFACE)
    # an SFace embedding for one of the ArcFace people, too
    add_image(people["ann"], near(sface_centre, rng), model=SFACE)
    arc_hits = search_gallery(centres["ann"], model_name=ARC)
    assert sface_only.pk not in {h.person_id for h in arc_hits}
    assert sum(h.person_id == people["ann"].pk for h in arc_hits) == 3  # not 4: the SFace one stays out
    sface_hits = search_gallery(sface_centre, model_name=SFACE)
    assert {h.person_id for h in sface_hits} == {sface_only.pk, people["ann"].pk}
    with pytest.raises(ValueError, match="512"):
        search_gallery(sface_centre, model_name=ARC)


def test_the_first_stage_uses_the_models_hnsw_index(gallery):
    rng, people, centres = gallery
    from recognition.selectors import explain_gallery_search

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: make the planner show its index choice
    plan = explain_gallery_search(centres["ann"], model_name=ARC)
    assert "Index Scan using hnsw_arcface_mbf" in plan, plan
    assert "hnsw_sface" not in plan, plan
    assert EMBEDDING_DIMENSIONS[ARC] == 512


@pytest.mark.django_db(transaction=True)  # autocommit, as in a request: SET LOCAL must end with the search
def test_search_leaves_no_index_setting_behind(gallery):
    rng, people, centres = gallery
    with connection.cursor() as cursor:
        cursor.execute("SHOW hnsw.ef_search")
        before = cursor.fetchone()[0]
    search_gallery(centres["ann"], model_name=ARC, limit=200)
    with connection.cursor() as cursor:
        cursor.execute("SHOW hnsw.ef_search")
        assert cursor.fetchone()[0] == before


def test_shipped_pack_settings_come_from_the_migration():
    rows = {row.pack: row for row in PackSettings.objects.all()}
    assert set(rows) >= {"arcface", "open"}
    assert rows["arcface"].is_active and not rows["open"].is_active
    for pack, values in DEFAULT_POLICIES.items():
        assert (rows[pack].threshold, rows[pack].margin) == (values["threshold"], values["margin"])
    PackSettings.objects.filter(pack="arcface").update(threshold=0.41)
    assert pack_policy("arcface").threshold == 0.41  # the database, not the code defaults, decides


def test_embedding_counts_count_what_a_search_would_look_at(gallery):
    from recognition.selectors import embedding_counts

    rng, people, centres = gallery
    lifecycle.move_person_to_recycle_bin(people["cat"])
    Person.objects.filter(pk=people["dan"].pk).update(is_active=False)
    (arc,) = [row for row in embedding_counts() if row["model_name"] == ARC]
    assert arc["embeddings"] == 12 and arc["people"] == 4
    assert arc["searchable"] == 6 == searchable_embeddings_count()


def searchable_embeddings_count() -> int:
    from recognition.selectors import searchable_embeddings

    return searchable_embeddings(ARC).count()
