"""Identity conflicts end to end on real photos: a staff upload that looks like another person is enrolled and flagged
on its batch page; staff resolve conflicts by merging the two people or confirming they are different (the pair is
then never flagged again), and a member's refused photos are checked again after the decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as accounts
from audit.models import Action, AuditEntry
from recognition.models import DistinctPeople, FaceImage, IdentityConflict, Person, Source
from recognition.services import integrity
from recognition.services.enrollment import enroll_images, start_enrollment
from recognition.uploads import UploadItem
from tests.matching.gallery import analyzer_or_skip
from tests.recognition.test_upload_page import folder_post

pytestmark = pytest.mark.django_db

VERA = "identities/deepface_p01"
OTHER = "identities/deepface_p03"
PASSWORD = "Amber-Falcon-2741"


@pytest.fixture(autouse=True)
def signup_pending(settings, tmp_path: Path) -> None:
    settings.SIGNUP_PENDING_DIR = tmp_path / "signup"


def items(faces_data: Path, folder: str, numbers, name: str = "") -> list[UploadItem]:
    return [UploadItem(name, f"{n}.jpg", (faces_data / folder / f"{n}.jpg").read_bytes()) for n in numbers]


def staff_enroll(staff, faces_data: Path, name: str, folder: str, numbers):
    batch = start_enrollment(items(faces_data, folder, numbers, name), source=Source.UPLOAD, started_by=staff,
                             queue=False)  # fmt: skip
    enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer_or_skip())
    return batch


@pytest.fixture
def vera(staff, faces_data: Path) -> Person:
    staff_enroll(staff, faces_data, "Vera Lane", VERA, [1, 8])
    return Person.objects.get(display_name="Vera Lane")


def member_upload(user, faces_data: Path, folder: str, numbers, capture_on_commit):
    with capture_on_commit(execute=True):
        return accounts.upload_own_photos(user, items(faces_data, folder, numbers))


def test_a_staff_upload_like_another_person_is_enrolled_and_flagged_on_its_batch_page(
    staff, staff_client, vera, faces_data, tmp_path, django_capture_on_commit_callbacks
) -> None:
    root = tmp_path / "dataset"
    (root / "Vee_Lane").mkdir(parents=True)
    for n in (2, 3):
        (root / "Vee_Lane" / f"{n}.jpg").write_bytes((faces_data / VERA / f"{n}.jpg").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/recognition/upload/", folder_post(root))
    assert response.status_code == 302
    vee = Person.objects.get(display_name="Vee Lane")
    assert vee.images.filter(status=FaceImage.Status.ENROLLED).count() == 2  # staff decide: flagged, not refused
    conflict = IdentityConflict.objects.get()
    assert (conflict.person, conflict.other, conflict.kind, conflict.refused) == (vee, vera, "matches_other", False)
    assert len(conflict.images) == 2 and conflict.score >= 0.32  # one conflict for the batch, not one per image
    assert AuditEntry.objects.filter(action=Action.IDENTITY_CONFLICT, target_id=str(vee.pk)).count() == 1

    page = staff_client.get(response["Location"]).content.decode()
    assert 'id="identity-conflicts"' in page and "Vera Lane" in page and "enrolled, flagged for review" in page
    assert reverse("admin:recognition_identityconflict_change", args=[conflict.pk]) in page
    progress = staff_client.get(response["Location"] + "progress/").json()
    assert [(c["id"], c["other"], c["images"], c["resolution"]) for c in progress["conflicts"]] == [
        (conflict.pk, "Vera Lane", 2, "open")
    ]


def test_confirmed_different_people_are_not_flagged_again(staff, staff_client, vera, faces_data) -> None:
    staff_enroll(staff, faces_data, "Vee Lane", VERA, [2])
    conflict = IdentityConflict.objects.get()
    response = staff_client.post(reverse("admin:recognition_identityconflict_changelist"),
                                 {"action": "confirm_different", "_selected_action": [conflict.pk]})  # fmt: skip
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.resolution == "different" and conflict.resolved_by.username == "boss"
    vee = conflict.person
    assert DistinctPeople.objects.filter(first=min(vee, vera, key=lambda p: p.pk)).count() == 1
    assert AuditEntry.objects.filter(action=Action.CONFLICT_RESOLVE).count() == 1

    staff_enroll(staff, faces_data, "Vee Lane", VERA, [3])
    assert IdentityConflict.objects.count() == 1  # the pair is known to be two people
    staff_enroll(staff, faces_data, "Third Lane", VERA, [4])
    assert IdentityConflict.objects.count() == 2  # a third person who looks like them is still flagged
    with pytest.raises(integrity.CannotResolve):
        integrity.confirm_different(conflict, actor=None)  # closed already


def test_a_member_refused_as_someone_staff_enrolled_is_merged_with_them(
    staff, vera, faces_data, django_capture_on_commit_callbacks
) -> None:
    """Vera was enrolled by staff, then signs up herself: her photos are refused (they match a Person she does not
    own); staff merge the two, and her photos go through."""
    member = accounts.sign_up(username="vera", email="v@example.test", name="Vera", password=PASSWORD)
    mine = Person.objects.get(user=member)
    member_upload(member, faces_data, VERA, [2, 3], django_capture_on_commit_callbacks)
    assert not mine.images.filter(status=FaceImage.Status.ENROLLED).exists()
    conflict = IdentityConflict.objects.get(person=mine)
    assert conflict.refused and conflict.other == vera

    with django_capture_on_commit_callbacks(execute=True):
        kept = integrity.merge_conflict(conflict, actor=staff)
    assert kept == mine and not Person.objects.filter(pk=vera.pk).exists()  # into the account's Person
    assert mine.images.filter(status=FaceImage.Status.ENROLLED).count() == 4  # staff's 2 + her 2, re-checked
    conflict.refresh_from_db()
    assert conflict.resolution == "merged" and conflict.other is None  # the merged-away Person is gone
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {Action.MERGE, Action.CONFLICT_RESOLVE, Action.REPROCESS} <= actions


def test_a_member_confirmed_different_gets_their_photos_enrolled(
    staff, vera, faces_data, django_capture_on_commit_callbacks
) -> None:
    twin = accounts.sign_up(username="twin", email="t@example.test", name="Twin", password=PASSWORD)
    member_upload(twin, faces_data, VERA, [5, 6], django_capture_on_commit_callbacks)
    conflict = IdentityConflict.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert integrity.confirm_different(conflict, actor=staff) == 2
    assert Person.objects.get(user=twin).images.filter(status=FaceImage.Status.ENROLLED).count() == 2


def test_two_accounts_are_never_merged_by_a_conflict(staff, faces_data, django_capture_on_commit_callbacks) -> None:
    first = accounts.sign_up(username="one", email="1@example.test", name="One", password=PASSWORD)
    second = accounts.sign_up(username="two", email="2@example.test", name="Two", password=PASSWORD)
    member_upload(first, faces_data, VERA, [1, 2], django_capture_on_commit_callbacks)
    member_upload(second, faces_data, VERA, [3], django_capture_on_commit_callbacks)
    conflict = IdentityConflict.objects.get()
    with pytest.raises(integrity.MergeRefused):
        integrity.merge_conflict(conflict, actor=staff)
    integrity.dismiss(conflict, actor=staff)
    conflict.refresh_from_db()
    assert conflict.resolution == "dismissed"
    assert Person.objects.filter(user__in=[first, second]).count() == 2


def test_staff_enrolling_the_real_person_after_someone_took_their_face_is_flagged(
    staff, faces_data, django_capture_on_commit_callbacks
) -> None:
    """Nobody had enrolled this face when a member signed up with it, so nothing could refuse it then; the real
    person's enrollment by staff later shows who holds their face."""
    taker = accounts.sign_up(username="taker", email="t@example.test", name="Taker", password=PASSWORD)
    member_upload(taker, faces_data, OTHER, [1, 2], django_capture_on_commit_callbacks)
    takers = Person.objects.get(user=taker)
    assert takers.images.filter(status=FaceImage.Status.ENROLLED).count() == 2
    staff_enroll(staff, faces_data, "Real Person", OTHER, [3, 4])
    conflict = IdentityConflict.objects.get()
    assert conflict.person.display_name == "Real Person" and conflict.other == takers and not conflict.refused


def test_with_approval_on_self_enrolled_people_are_searchable_only_once_approved(
    staff_client, faces_data, settings, django_capture_on_commit_callbacks
) -> None:
    import cv2

    from recognition.services import matching

    def recognised() -> int | None:
        [face] = matching.recognize(cv2.imread(str(faces_data / VERA / "3.jpg")), emotion=False).faces
        return face.match.person_id

    settings.ENROLL_SELF_APPROVAL = True
    member = accounts.sign_up(username="vera", email="v@example.test", name="Vera", password=PASSWORD)
    mine = Person.objects.get(user=member)
    assert mine.awaiting_approval
    member_upload(member, faces_data, VERA, [1, 2], django_capture_on_commit_callbacks)
    assert mine.images.filter(status=FaceImage.Status.ENROLLED).count() == 2 and recognised() is None
    page = Client()
    page.force_login(member)
    assert 'id="awaiting-approval"' in page.get("/accounts/profile/").content.decode()

    # Waiting is no way around the integrity check: a second sign-up with the same face is still refused.
    copycat = accounts.sign_up(username="copy", email="c@example.test", name="Copy", password=PASSWORD)
    member_upload(copycat, faces_data, VERA, [4], django_capture_on_commit_callbacks)
    assert IdentityConflict.objects.get().other == mine

    response = staff_client.post(reverse("admin:recognition_person_changelist"),
                                 {"action": "approve", "_selected_action": [mine.pk]})  # fmt: skip
    assert response.status_code == 302
    mine.refresh_from_db()
    assert not mine.awaiting_approval and recognised() == mine.pk
    assert AuditEntry.objects.filter(action=Action.APPROVE, target_id=str(mine.pk)).count() == 1
