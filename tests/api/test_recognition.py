"""identify and verify on real photos (../shared/data/faces) against a gallery enrolled the product's way,
and the status code of every way an upload can be wrong."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from recognition.models import FaceImage, PackSettings
from tests.api.conftest import token_client
from tests.matching.gallery import enroll_gallery

pytestmark = pytest.mark.django_db
IDENTIFY, VERIFY = "/api/v1/identify/", "/api/v1/verify/"


def photo(faces_data: Path, rel: str) -> io.BytesIO:
    stream = io.BytesIO((faces_data / rel).read_bytes())
    stream.name = Path(rel).name
    return stream


@pytest.fixture
def gallery(faces_data):
    return enroll_gallery(faces_data)


def test_identify_names_an_enrolled_person_and_calls_a_stranger_unknown(operator_client, faces_data, gallery):
    obama = gallery["facerec_obama"]
    response = operator_client.post(IDENTIFY, {"image": photo(faces_data, "identities/facerec_obama/4.jpg")})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        body["pack"] == "arcface" and body["threshold"] == PackSettings.objects.get(pack="arcface").threshold
    )
    [face] = body["faces"]
    assert face["person"] == {"id": obama.pk, "display_name": "facerec_obama"}
    assert face["label"] == "facerec_obama" and face["decision"] == "accepted"
    assert face["score"] >= body["threshold"] and face["margin"] >= body["margin"]
    assert len(face["box"]) == 4 and face["box"][2] > face["box"][0]
    assert face["emotion"] is None or face["emotion"]["label"]

    stranger = operator_client.post(
        IDENTIFY, {"image": photo(faces_data, "identities/facerec_kit_harington/1.jpeg")}
    )
    [face] = stranger.json()["faces"]
    assert face["person"] is None and face["label"] == "unknown"
    assert face["decision"] == "below_threshold" and face["score"] < body["threshold"]
    assert face["candidate"]["id"] in {p.pk for p in gallery.values()}  # the nearest one is still reported


def test_identify_takes_the_raw_image_as_the_body(operator_client, faces_data, gallery):
    data = (faces_data / "identities/dlib_John_Salley").iterdir()
    probe = sorted(data)[5].read_bytes()  # not one of the enrolled chips
    response = operator_client.post(IDENTIFY, data=probe, content_type="image/jpeg")
    assert response.status_code == 200, response.content
    assert [f["label"] for f in response.json()["faces"]] == ["dlib_John_Salley"]


def test_a_person_in_the_recycle_bin_is_no_longer_recognised(staff_client, faces_data, gallery):
    staff_client.delete(f"/api/v1/persons/{gallery['facerec_obama'].pk}/")
    response = staff_client.post(IDENTIFY, {"image": photo(faces_data, "identities/facerec_obama/4.jpg")})
    assert [f["label"] for f in response.json()["faces"]] == ["unknown"]


def test_two_people_in_one_picture_are_two_identities(operator_client, faces_data, gallery):
    response = operator_client.post(IDENTIFY, {"image": photo(faces_data, "group/facerec_obama_and_biden.jpg")})
    labels = sorted(f["label"] for f in response.json()["faces"])
    known = [label for label in labels if label != "unknown"]
    assert len(known) == len(set(known))
    assert "facerec_obama" in known and "facerec_biden" in known


def test_verify_two_images_and_an_image_against_a_person(operator_client, faces_data, gallery):
    same = operator_client.post(
        VERIFY,
        {
            "image_a": photo(faces_data, "identities/facerec_biden/1.jpg"),
            "image_b": photo(faces_data, "identities/facerec_biden/2.jpg"),
        },
    )
    assert same.status_code == 200, same.content
    assert same.json()["same"] is True and len(same.json()["faces"]) == 2
    different = operator_client.post(
        VERIFY,
        {
            "image_a": photo(faces_data, "identities/facerec_biden/1.jpg"),
            "image_b": photo(faces_data, "identities/deepface_p01/1.jpg"),
        },
    )
    assert different.json()["same"] is False and different.json()["score"] < same.json()["score"]
    obama = gallery["facerec_obama"]
    yes = operator_client.post(
        VERIFY, {"image": photo(faces_data, "identities/facerec_obama/4.jpg"), "person": obama.pk}
    )
    assert yes.json()["same"] is True and yes.json()["person"]["id"] == obama.pk
    no = operator_client.post(
        VERIFY, {"image": photo(faces_data, "identities/facerec_biden/2.jpg"), "person": obama.pk}
    )
    assert no.json()["same"] is False
    missing = operator_client.post(
        VERIFY, {"image": photo(faces_data, "identities/facerec_biden/2.jpg"), "person": 999999}
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    incomplete = operator_client.post(VERIFY, {"image_a": photo(faces_data, "identities/facerec_biden/2.jpg")})
    assert incomplete.status_code == 400 and incomplete.json()["error"] == "invalid"


def test_verify_a_picture_without_a_face_is_400(operator_client, faces_data, gallery):
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (200, 200), (200, 200, 200)).save(blank, format="PNG")
    blank.seek(0)
    blank.name = "wall.png"
    response = operator_client.post(VERIFY, {"image": blank, "person": gallery["facerec_obama"].pk})
    assert response.status_code == 400 and response.json()["error"] == "no_face"


# --- what can be wrong with an upload (no models needed: refused before any inference) ----------------------
def upload(name: str, data: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def test_corrupt_image_is_400(operator_client, faces_data):
    truncated = (faces_data / "identities/facerec_obama/1.jpg").read_bytes()[:600]
    for file in (
        upload("x.jpg", b"\xff\xd8 this is not really a jpeg", "image/jpeg"),
        upload("cut.jpg", truncated, "image/jpeg"),
    ):
        response = operator_client.post(IDENTIFY, {"image": file})
        assert response.status_code == 400, response.content
        assert (
            response.json()["error"] == "invalid_image" and "cannot be decoded" in response.json()["message"]
        )


def test_too_large_is_413(operator_client, faces_data, settings):
    settings.API_MAX_IMAGE_BYTES = 20_000
    big = (faces_data / "identities/facerec_obama/1.jpg").read_bytes()
    assert len(big) > 20_000
    response = operator_client.post(IDENTIFY, {"image": upload("big.jpg", big, "image/jpeg")})
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    raw = operator_client.post(IDENTIFY, data=big, content_type="image/jpeg")
    assert raw.status_code == 413


def test_wrong_content_type_is_415(operator_client):
    not_image = operator_client.post(
        IDENTIFY, {"image": upload("notes.txt", b"hello, not a picture", "text/plain")}
    )
    assert not_image.status_code == 415 and not_image.json()["error"] == "unsupported_media_type"
    pdf = operator_client.post(IDENTIFY, {"image": upload("doc.pdf", b"%PDF-1.4\n...", "application/pdf")})
    assert pdf.status_code == 415
    as_json = operator_client.post(IDENTIFY, {"image": "aGVsbG8="}, format="json")
    assert as_json.status_code == 415 and "application/json" in as_json.json()["message"]


def test_missing_image_is_400(operator_client):
    response = operator_client.post(IDENTIFY, {}, format="multipart")
    assert response.status_code == 400 and "image" in response.json()["fields"]


def test_anonymous_cannot_identify():
    assert APIClient().post(IDENTIFY, {}).status_code == 401


def test_enrolled_images_keep_their_status(gallery):
    assert FaceImage.objects.filter(status=FaceImage.Status.ENROLLED).count() == 7


def test_members_may_not_identify_people_in_pictures(member_client, faces_data, gallery):
    response = member_client.post(IDENTIFY, {"image": photo(faces_data, "identities/facerec_obama/4.jpg")})
    assert response.status_code == 403
    assert "operators" in response.json()["message"]


def test_a_member_verifies_against_themself_only(member, member_client, faces_data, gallery):
    obama = gallery["facerec_obama"]
    other = member_client.post(VERIFY, {"image": photo(faces_data, "identities/facerec_obama/4.jpg"),
                                        "person": obama.pk})  # fmt: skip
    assert other.status_code == 403
    obama.user = member
    obama.save()
    own = member_client.post(VERIFY, {"image": photo(faces_data, "identities/facerec_obama/4.jpg"),
                                      "person": obama.pk})  # fmt: skip
    assert own.status_code == 200 and own.json()["same"] is True


def test_an_oversized_json_body_is_a_json_413(staff, settings):
    """A JSON body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE gets the API's JSON error, not an HTML page, and
    nothing is stored: through the WSGI test client and through Django's ASGI handler (as daphne serves it,
    where the body stream has no limit of its own)."""
    import json

    from asgiref.sync import async_to_sync
    from django.test import AsyncClient
    from rest_framework.authtoken.models import Token

    from recognition.models import Person

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"display_name": "someone", "notes": "x" * 20_000}
    client = token_client(staff)
    token = Token.objects.get(user=staff).key
    asgi = async_to_sync(AsyncClient().post)(
        "/api/v1/persons/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    wsgi = client.post("/api/v1/persons/", body, format="json")
    for response in (asgi, wsgi):
        assert response.status_code == 413, (response.status_code, response.content[:200])
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["error"] == "too_large" and "10000 bytes" in response.json()["message"]
    assert not Person.objects.filter(display_name="someone").exists()
    # within the limit the same request is taken
    body["notes"] = "x" * 100
    assert client.post("/api/v1/persons/", body, format="json").status_code == 201
