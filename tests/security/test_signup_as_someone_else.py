"""Adversarial: a member enrolls someone else's face. Sign-up with a slideshow of an enrolled person's real photos
(../shared/data/faces), and profile uploads of someone else's photos, are refused where faces are embedded; the
refusal names nobody and reads the same whether the face matched someone or only failed to match the member;
staff find an audit entry and a conflict; the real person is still recognised afterwards."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts import services
from accounts.views import PENDING
from audit.models import Action, AuditEntry
from recognition.domain.matching import Match
from recognition.models import Enrollment, FaceEmbedding, FaceImage, IdentityConflict, Person, Source
from recognition.refusals import Refusal
from recognition.services import matching
from recognition.services.enrollment import enroll_images, start_enrollment
from recognition.uploads import UploadItem
from tests.accounts.conftest import client_for, jpeg, photo_frames, signed_up
from tests.matching.gallery import analyzer_or_skip
from tests.security.conftest import make_user

pytestmark = pytest.mark.django_db

VICTIM_SET = "identities/deepface_p01"  # 8 photos; the victim is enrolled by staff with two of them
VICTIM = "Vera Victim"
OWN_SET = "identities/deepface_p03"  # the attacker's own face
STRANGER_SET = "identities/deepface_p02"  # a face nobody has enrolled


@pytest.fixture(autouse=True)
def storage(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNUP_PENDING_DIR = tmp_path / "signup"
    settings.SIGNUP_FRAME_INTERVAL_MS = 0
    settings.LIVENESS_REQUIRED = False  # photos cannot pass it (tests/security/test_liveness_attacks.py); here the
    # photos get through, as a replay that beat liveness would, and the gallery check must refuse them
    return tmp_path


@pytest.fixture
def victim(faces_data: Path) -> Person:
    """Enrolled by staff from a folder, as the product does it."""
    analyzer = analyzer_or_skip()
    staff = make_user("staffer", is_staff=True)
    items = [UploadItem(VICTIM, f"{n}.jpg", (faces_data / VICTIM_SET / f"{n}.jpg").read_bytes()) for n in (1, 8)]
    batch = start_enrollment(items, source=Source.UPLOAD, started_by=staff, queue=False)
    enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer)
    assert batch.images.filter(status=FaceImage.Status.ENROLLED).count() == 2
    return Person.objects.get(display_name=VICTIM)


def recognised_as(faces_data: Path, rel: str) -> Match:
    [face] = matching.recognize(cv2.imread(str(faces_data / rel)), emotion=False).faces
    return face.match


def test_signing_up_with_an_enrolled_persons_photos_is_refused(
    faces_data: Path, victim: Person, django_capture_on_commit_callbacks
) -> None:
    assert recognised_as(faces_data, f"{VICTIM_SET}/3.jpg").person_id == victim.pk
    attacker = signed_up("mallory", "Mallory Mask")
    client = Client()
    session = client.session
    session[PENDING] = attacker.pk
    session.save()
    assert client.post("/accounts/capture/start/").status_code == 200
    replies = []
    for frame in photo_frames(faces_data, VICTIM_SET, range(1, 8)):  # the slideshow in front of the camera
        upload = SimpleUploadedFile("frame.jpg", jpeg(frame), content_type="image/jpeg")
        replies.append(client.post("/accounts/capture/frame/", {"frame": upload}))
    assert sum(r.json()["kept"] for r in replies) == 6  # each frame alone is a good photo
    with django_capture_on_commit_callbacks(execute=True):
        finish = client.post("/accounts/capture/finish/")
    assert finish.status_code == 200
    status = client.post("/accounts/capture/status/")
    outcome = status.json()
    assert outcome["finished"] and not outcome["ok"] and outcome["enrolled"] == 0
    assert outcome["held"] and "retry" not in outcome  # another round of the same slideshow would not help
    assert "_auth_user_id" not in client.session  # not logged in: a sign-up that enrolled nothing is unfinished

    # Nobody is named, anywhere the attacker looks.
    seen = b"".join(r.content for r in [*replies, finish, status])
    assert VICTIM.encode() not in seen and str(victim.pk).encode() not in outcome["message"].encode()
    assert outcome["rejected"] == [{"reason": "could not be confirmed as the same person; held for review by staff",
                                    "count": 6}]  # fmt: skip

    # Nothing of the victim's face now belongs to the attacker.
    mine = Person.objects.get(user=attacker)
    assert not FaceEmbedding.objects.filter(person=mine).exists()
    assert set(mine.images.values_list("status", "reject_code")) == {("rejected", Refusal.IDENTITY_CONFLICT)}

    # Staff see it: a conflict naming both people, and an audit entry.
    conflict = IdentityConflict.objects.get(person=mine)
    assert conflict.other == victim and conflict.refused and conflict.kind == "matches_other"
    assert len(conflict.images) == 6 and conflict.is_open
    entry = AuditEntry.objects.get(action=Action.IDENTITY_CONFLICT, target_id=str(mine.pk))
    assert entry.actor == attacker and entry.details["other"] == victim.pk and entry.details["refused"] is True

    # And the real person is still recognised, by a photo that was never enrolled.
    match = recognised_as(faces_data, f"{VICTIM_SET}/3.jpg")
    assert match.person_id == victim.pk and match.reason == "accepted"


def test_a_member_cannot_add_someone_elses_photos_to_their_own(
    faces_data: Path, victim: Person, django_capture_on_commit_callbacks
) -> None:
    member = signed_up("mallory", "Mallory Mask")
    client = client_for(member)

    def upload(folder: str, numbers) -> None:
        files = [SimpleUploadedFile(f"{n}.jpg", (faces_data / folder / f"{n}.jpg").read_bytes(),
                                    content_type="image/jpeg") for n in numbers]  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/accounts/profile/photos/", {"photos": files})
        assert response.status_code == 302

    upload(OWN_SET, [1, 2])  # the member's own face: enrolled
    mine = Person.objects.get(user=member)
    assert mine.images.filter(status=FaceImage.Status.ENROLLED).count() == 2

    upload(VICTIM_SET, [8, 3])  # 8.jpg: the very bytes staff enrolled; 3.jpg: another photo of the victim
    upload(STRANGER_SET, [1])  # someone nobody enrolled: unlike the member's own photos
    batches = set(mine.images.values_list("enrollment", flat=True))
    assert len(batches) == 3
    assert FaceEmbedding.objects.filter(person=mine).count() == 2  # still only the member's own face
    refused = dict(mine.images.exclude(status=FaceImage.Status.ENROLLED).values_list("original_name", "reject_code"))
    assert refused == {"3.jpg": Refusal.IDENTITY_CONFLICT, "1.jpg": Refusal.IDENTITY_CONFLICT}
    # The same words whether the face was someone else's or only not the member's: neither tells who is enrolled.
    assert len(set(mine.images.exclude(status=FaceImage.Status.ENROLLED).values_list("reject_reason", flat=True))) == 1
    kinds = set(IdentityConflict.objects.filter(person=mine).values_list("kind", "other"))
    assert kinds == {("matches_other", victim.pk), ("unlike_own", None)}

    profile = client.get("/accounts/profile/").content.decode()
    errors = [e for batch in Enrollment.objects.filter(started_by=member) for e in batch.errors]
    assert errors == [{"file": "8.jpg", "code": Refusal.SAME_IMAGE_ELSEWHERE, "params": {},
                       "error": "conflict: the same image is already enrolled for another person"}]  # fmt: skip
    assert VICTIM not in profile and VICTIM not in str(errors)
    # One conflict (and audit entry) per batch and other person: the copied bytes and the other photo are one.
    assert AuditEntry.objects.filter(action=Action.IDENTITY_CONFLICT, target_id=str(mine.pk)).count() == 2


def test_the_first_photos_are_checked_against_the_gallery_too(faces_data: Path, victim: Person) -> None:
    """A member with no photos yet has nothing of their own to disagree with: the gallery check alone stands
    between their first photo and someone else's face."""
    analyzer = analyzer_or_skip()
    member = signed_up("mallory", "Mallory Mask")
    data = cv2.imencode(".png", cv2.imread(str(faces_data / VICTIM_SET / "5.jpg")))[1].tobytes()
    batch = services.upload_own_photos(member, [UploadItem("x", "first.png", data)])
    enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer)
    image = batch.images.get()
    assert image.status == FaceImage.Status.REJECTED and image.reject_code == Refusal.IDENTITY_CONFLICT


def test_removing_ones_own_photos_is_no_way_to_become_someone_else(
    faces_data: Path, django_capture_on_commit_callbacks
) -> None:
    """The recycle bin keeps a member's face: after moving every photo there, a stranger's face is still unlike
    theirs (and nobody has enrolled the stranger, so the gallery alone would not catch it)."""
    analyzer_or_skip()
    member = signed_up("mallory", "Mallory Mask")
    own = [UploadItem("x", f"{n}.jpg", (faces_data / OWN_SET / f"{n}.jpg").read_bytes()) for n in (1, 2)]
    with django_capture_on_commit_callbacks(execute=True):
        services.upload_own_photos(member, own)
    for image in services.own_images(member):
        assert services.remove_own_photo(member, image.pk)
    stranger = [UploadItem("x", "s.jpg", (faces_data / STRANGER_SET / "2.jpg").read_bytes())]
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.upload_own_photos(member, stranger)
    assert batch.images.get().reject_code == Refusal.IDENTITY_CONFLICT
