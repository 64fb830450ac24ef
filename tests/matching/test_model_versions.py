"""Search compares only embeddings of the current model version, and refuses a gallery of other versions only;
re-embedding moves such a gallery to the current version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recognition.domain.pack import ModelVersionMismatch, pack_model_version
from recognition.models import FaceEmbedding, Person
from recognition.selectors import search_gallery, searchable_embeddings
from recognition.services import reembed
from tests.matching.gallery import analyzer_or_skip, enroll_gallery
from tests.matching.test_gallery_search import ARC, add_image, near, unit

pytestmark = pytest.mark.django_db
OLD = "arcface_mbf:000000000000"  # other weights under the same name


def person(name: str) -> Person:
    return Person.objects.create(display_name=name, slug=name)


def test_a_gallery_of_another_version_only_is_refused_with_a_typed_error() -> None:
    rng = np.random.default_rng(1)
    centre = unit(rng, 512)
    add_image(person("ann"), near(centre, rng))
    FaceEmbedding.objects.update(model_version=OLD)
    with pytest.raises(ModelVersionMismatch) as refused:
        search_gallery(near(centre, rng), model_name=ARC)
    assert (refused.value.model_name, refused.value.found) == (ARC, [OLD])
    assert refused.value.current == pack_model_version("arcface") and "re-embed" in str(refused.value)


def test_embeddings_of_another_version_are_never_compared() -> None:
    rng = np.random.default_rng(2)
    centre = unit(rng, 512)
    stale, current = person("stale"), person("current")
    add_image(stale, near(centre, rng))
    add_image(current, near(centre, rng))
    FaceEmbedding.objects.filter(person=stale).update(model_version=OLD)
    FaceEmbedding.objects.filter(person=current).update(model_version=pack_model_version("arcface"))
    assert {hit.person_id for hit in search_gallery(near(centre, rng), model_name=ARC)} == {current.pk}
    assert list(searchable_embeddings(ARC).values_list("person_id", flat=True)) == [current.pk]


def test_an_empty_gallery_is_no_refusal() -> None:
    assert search_gallery(unit(np.random.default_rng(3), 512), model_name=ARC) == []


def test_reembedding_moves_a_gallery_to_the_current_version(faces_data: Path, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    people = enroll_gallery(faces_data)
    query = FaceEmbedding.objects.filter(person=people["facerec_obama"]).first().vector
    FaceEmbedding.objects.update(model_version=OLD)  # the weights changed under the same name
    with pytest.raises(ModelVersionMismatch):
        search_gallery(query, model_name=ARC)
    reembed.prepare_reembed("arcface")
    reembed.reembed_step("arcface", analyzer_or_skip(), queue_next=False)  # in-process until nothing is missing
    assert set(FaceEmbedding.objects.values_list("model_version", flat=True)) == {pack_model_version("arcface")}
    best = max(search_gallery(query, model_name=ARC), key=lambda hit: hit.similarity)
    assert best.person_id == people["facerec_obama"].pk
