"""The profile: own photos only (thumbnails through a permission check), remove/restore, upload, withdrawing
consent (images, embeddings and files purged; attendance anonymised or kept per setting), API tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.models import Consent
from recognition.models import FaceEmbedding, FaceImage, Person
from recognition.selectors import search_gallery
from recognition.services.enrollment import enroll_images, start_enrollment
from recognition.uploads import UploadItem
from tests.accounts.conftest import OTHER_SET, SIGNUP_SET, client_for, jpeg, photo_frames

pytestmark = pytest.mark.django_db


def enroll(user, faces_data: Path, analyzer, numbers=(1, 2, 3), folder: str = SIGNUP_SET) -> list[FaceImage]:
    person = services.person_for_user(user)
    frames = photo_frames(faces_data, folder, numbers)
    items = [UploadItem(person.display_name, f"{n}.jpg", jpeg(f))
             for n, f in zip(numbers, frames, strict=True)]  # fmt: skip
    batch = start_enrollment(items, source="signup", started_by=user, person=person, queue=False)
    enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer)
    return list(batch.images.order_by("pk"))


def test_a_member_sees_their_own_photos_and_not_anyone_elses(faces_data, analyzer, member, other_member,
                                                              staff) -> None:  # fmt: skip
    mine = enroll(member, faces_data, analyzer, (1,))[0]
    theirs = enroll(other_member, faces_data, analyzer, (2,), OTHER_SET)[0]  # their own face, not the member's
    client = client_for(member)
    page = client.get("/accounts/profile/").content.decode()
    assert f"/accounts/photos/{mine.pk}/?thumb=1" in page and f"/accounts/photos/{theirs.pk}/" not in page
    thumb = client.get(f"/accounts/photos/{mine.pk}/?thumb=1")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert thumb["Cache-Control"] == "private, no-store"
    full = client.get(f"/accounts/photos/{mine.pk}/")
    assert full.status_code == 200 and b"".join(full.streaming_content) == Path(mine.file.path).read_bytes()
    assert client.get(f"/accounts/photos/{theirs.pk}/").status_code == 404
    assert client.get(f"/accounts/photos/{theirs.pk}/?thumb=1").status_code == 404
    assert client_for(staff).get(f"/accounts/photos/{theirs.pk}/").status_code == 404  # only one's own here
    assert Client().get(f"/accounts/photos/{mine.pk}/").status_code == 302  # to the login page
    assert client.post(f"/accounts/photos/{theirs.pk}/remove/").status_code == 404
    assert FaceImage.objects.get(pk=theirs.pk).status == FaceImage.Status.ENROLLED


def test_remove_and_restore_own_photo(faces_data, analyzer, member) -> None:
    image = enroll(member, faces_data, analyzer, (1,))[0]
    client = client_for(member)
    assert client.post(f"/accounts/photos/{image.pk}/remove/").status_code == 302
    image.refresh_from_db()
    assert image.status == FaceImage.Status.DELETED and Path(image.file.path).exists()
    assert "Restore" in client.get("/accounts/profile/").content.decode()
    assert client.post(f"/accounts/photos/{image.pk}/restore/").status_code == 302
    image.refresh_from_db()
    assert image.status == FaceImage.Status.ENROLLED


def test_rejected_photos_show_their_reason(faces_data, analyzer, member, settings) -> None:
    settings.ENROLL_MIN_FACE_PX = 1000
    image = enroll(member, faces_data, analyzer, (1,))[0]
    image.refresh_from_db()
    assert image.status == FaceImage.Status.REJECTED
    page = client_for(member).get("/accounts/profile/").content.decode()
    assert "rejected" in page and "face too small" in page


def test_upload_own_photos(faces_data, analyzer, member, django_capture_on_commit_callbacks) -> None:
    frames = photo_frames(faces_data, SIGNUP_SET, (3, 4))
    files = [SimpleUploadedFile(f"{i}.jpg", jpeg(f), content_type="image/jpeg") for i, f in enumerate(frames)]
    files.append(SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(member).post("/accounts/profile/photos/", {"photos": files})
    assert response.status_code == 302
    images = services.own_images(member)
    assert images.filter(status=FaceImage.Status.ENROLLED).count() == 2
    page = client_for(member).get("/accounts/profile/").content.decode()
    assert "notes.txt" in page and "not an image" in page


def _attendance_event(person: Person):
    from attendance.services import record_presence

    frame = np.random.default_rng(0).integers(0, 255, size=(240, 200, 3), dtype=np.uint8)
    return record_presence(person_id=person.pk, source="camera", score=0.8, margin=0.3, frame_bgr=frame,
                           box=np.array([60, 40, 140, 150], np.float32), stream="test")  # fmt: skip


def test_withdrawing_consent_purges_images_embeddings_and_files_and_anonymises_attendance(
    faces_data, analyzer, member, settings, django_capture_on_commit_callbacks
) -> None:
    settings.ATTENDANCE_ANONYMISE_ON_ERASURE = True
    images = enroll(member, faces_data, analyzer)
    person = Person.objects.get(user=member)
    paths = [Path(image.file.path) for image in images]
    assert FaceEmbedding.objects.filter(person=person).count() == 3 and all(p.exists() for p in paths)
    event = _attendance_event(person)
    crop = Path(event.evidence.path)
    probe = FaceEmbedding.objects.filter(person=person).first().vector
    assert {hit.person_id for hit in search_gallery(probe, model_name="arcface_mbf")} == {person.pk}
    client = client_for(member)
    assert "Yes, delete my biometric data" in client.get("/accounts/profile/erase/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # files are deleted once the rows are gone
        response = client.post("/accounts/profile/erase/", {"confirm": "yes"})
    assert response.status_code == 302
    assert not FaceImage.objects.filter(pk__in=[i.pk for i in images]).exists()
    assert not FaceEmbedding.objects.exists() and not any(p.exists() for p in paths)
    assert not Person.objects.filter(pk=person.pk).exists()
    assert search_gallery(probe, model_name="arcface_mbf") == []  # the HNSW search finds nothing of them
    event.refresh_from_db()
    assert event.person_id is None and event.anonymous_key and not event.evidence and not crop.exists()
    consent = Consent.objects.get(user=member)
    assert consent.withdrawn_at is not None and services.active_consent(member) is None
    page = client.get("/accounts/profile/").content.decode()
    assert "No consent on record" in page and "3 photos" in page  # the message names what was deleted


def test_withdrawing_with_attendance_kept_keeps_the_rows_linked(
    faces_data, analyzer, member, settings, django_capture_on_commit_callbacks
) -> None:
    settings.ATTENDANCE_ANONYMISE_ON_ERASURE = False
    enroll(member, faces_data, analyzer, (1,))
    person = Person.objects.get(user=member)
    event = _attendance_event(person)
    with django_capture_on_commit_callbacks(execute=True):
        erasure = services.withdraw_consent(member)
    assert erasure.images == 1 and not erasure.anonymised
    assert not FaceImage.objects.exists() and not FaceEmbedding.objects.exists()
    event.refresh_from_db()
    assert event.person_id == person.pk and not event.evidence  # kept under the name, without the face crop


def test_consent_again_after_withdrawal_opens_the_camera(member) -> None:
    services.withdraw_consent(member)
    client = client_for(member)
    assert client.post("/accounts/profile/consent/", {}).status_code == 302
    assert services.active_consent(member) is None  # not ticked: nothing recorded
    response = client.post("/accounts/profile/consent/", {"consent": "on"})
    assert response["Location"] == "/accounts/capture/" and services.active_consent(member) is not None
    assert Consent.objects.filter(user=member).count() == 2


def test_token_create_use_rotate_and_revoke(member, other_member) -> None:
    client = client_for(member)
    client.post("/accounts/profile/token/")
    key = Token.objects.get(user=member).key
    page = client.get("/accounts/profile/").content.decode()
    assert key in page and key not in client.get("/accounts/profile/").content.decode()  # shown once

    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/v1/persons/")
    own = set(Person.objects.filter(user=member).values_list("pk", flat=True))
    assert response.status_code == 200 and {p["id"] for p in response.json()["results"]} <= own  # only themself
    assert api.get("/api/v1/enrollments/").status_code == 403  # staff only
    assert api.post("/api/v1/persons/", {"display_name": "x"}).status_code == 403

    client.post("/accounts/profile/token/")  # rotate
    new_key = Token.objects.get(user=member).key
    assert new_key != key
    assert api.get("/api/v1/persons/").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Token {new_key}").get("/api/v1/persons/").status_code == 200

    client.post("/accounts/profile/token/revoke/")
    assert not Token.objects.filter(user=member).exists()
    assert Client(HTTP_AUTHORIZATION=f"Token {new_key}").get("/api/v1/persons/").status_code == 401
    assert client.get("/accounts/profile/token/").status_code == 405  # POST only (CSRF-protected)
