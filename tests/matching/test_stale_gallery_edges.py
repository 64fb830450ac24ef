"""A gallery whose embeddings are all of another model version (the weights changed under the same name) is
refused at every edge with a clear answer, never a server error: the API says 409 gallery_needs_reembedding,
a live stream names nobody (and says why in the log) instead of failing."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from recognition.live.streams import GalleryMatcher
from recognition.models import FaceEmbedding, Person
from tests.matching.test_gallery_search import ARC, add_image, near, unit
from tests.support.users import api_client, make_user

pytestmark = pytest.mark.django_db
OLD = "arcface_mbf:000000000000"


def stale_gallery() -> np.ndarray:
    rng = np.random.default_rng(4)
    centre = unit(rng, 512)
    add_image(Person.objects.create(display_name="ann", slug="ann"), near(centre, rng))
    FaceEmbedding.objects.update(model_version=OLD)
    return near(centre, rng)


def test_identify_against_a_stale_gallery_answers_409_in_the_error_shape(faces_data: Path) -> None:
    stale_gallery()
    client = api_client(make_user("op", staff=True, recognition_permissions=True))
    photo = (faces_data / "identities" / "facerec_obama" / "1.jpg").read_bytes()
    response = client.post("/api/v1/identify/", photo, content_type="image/jpeg")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == "gallery_needs_reembedding" and body["status"] == 409
    assert "re-embed" in body["message"] and response["Content-Type"] == "application/json"


def test_a_live_stream_against_a_stale_gallery_names_nobody_and_logs_why(caplog) -> None:
    query = stale_gallery()
    matcher = GalleryMatcher(pack="arcface", model_name=ARC)
    with caplog.at_level(logging.WARNING, logger="recognition.live"):
        first = matcher(np.stack([query]))
        second = matcher(np.stack([query]))
    assert [m.person_id for m in first + second] == [None, None]
    assert [m.name for m in first + second] == ["unknown", "unknown"]
    assert sum("re-embed" in r.getMessage() for r in caplog.records) == 1  # said once per stream, not per frame

