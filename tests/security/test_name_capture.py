"""Adversarial: capturing someone's enrollment by signing up under their name. A staff folder upload `Jane_Doe/*.jpg`
never lands in a Person that belongs to an account; a recycled person is never silently revived and an account
that withdrew consent is never re-enrolled by name: each is a clear, typed refusal on the batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts import services
from recognition.models import Enrollment, FaceImage, Person
from recognition.refusals import Refusal
from recognition.services import lifecycle
from recognition.services.enrollment import NameUnavailable, person_for_name, start_enrollment
from recognition.uploads import read_folder
from tests.recognition.test_upload_page import folder_post
from tests.security.conftest import PASSWORD
from tests.support.users import session_client

pytestmark = pytest.mark.django_db

FACES = "identities/deepface_p02"


@pytest.fixture(autouse=True)
def storage(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNUP_PENDING_DIR = tmp_path / "signup"


def dataset(tmp_path: Path, faces_data: Path, folder: str, numbers=(1, 2)) -> Path:
    """A dataset folder laid out person_name/image.jpg with real photos."""
    root = tmp_path / "dataset"
    (root / folder).mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (root / folder / f"{n}.jpg").write_bytes((faces_data / FACES / f"{n}.jpg").read_bytes())
    return root


def refusal_codes(batch: Enrollment) -> list[str]:
    return [error.get("code") for error in batch.errors]


def test_a_folder_named_after_a_member_never_lands_in_their_person(tmp_path, faces_data, staff) -> None:
    squatter = services.sign_up(username="mallory", email="m@example.test", name="Jane Doe", password=PASSWORD)
    theirs = Person.objects.get(user=squatter)
    assert theirs.slug == "jane-doe"  # the name the real Jane Doe's folder will carry

    batch = start_enrollment(read_folder(dataset(tmp_path, faces_data, "Jane_Doe")), source="upload",
                             started_by=staff, queue=False)  # fmt: skip
    assert not theirs.images.exists() and batch.images.count() == 0
    assert refusal_codes(batch) == [Refusal.NAME_OF_ACCOUNT] * 2
    assert "belongs to a member's account" in batch.errors[0]["error"]
    with pytest.raises(NameUnavailable):
        person_for_name("jane doe")

    # The upload page says so on the batch page; the CLI enrolls by name through the same service.
    response = session_client(staff).post("/recognition/upload/", folder_post(tmp_path / "dataset"), follow=True)
    assert response.status_code == 200 and "belongs to a member&#x27;s account" in response.content.decode()
    with pytest.raises(CommandError, match="belongs to a member's account"):
        call_command("enroll", str(tmp_path / "dataset" / "Jane_Doe"), person="Jane Doe")
    assert not theirs.images.exists()


def test_choosing_the_person_explicitly_still_works(tmp_path, faces_data, staff) -> None:
    """Staff who mean the member's Person pick it (the upload form, the API's person id): only *by name* is refused."""
    member = services.sign_up(username="jane", email="j@example.test", name="Jane Doe", password=PASSWORD)
    person = Person.objects.get(user=member)
    batch = start_enrollment(read_folder(dataset(tmp_path, faces_data, "Jane_Doe"), person_name="Jane Doe"),
                             source="upload", started_by=staff, person=person, queue=False)  # fmt: skip
    assert batch.errors == [] and person.images.count() == 2


def test_a_recycled_person_is_not_revived_by_name(tmp_path, faces_data, staff) -> None:
    old = start_enrollment(read_folder(dataset(tmp_path, faces_data, "Old_Name", [1])), source="upload",
                           started_by=staff, queue=False)  # fmt: skip
    person = old.images.get().person
    lifecycle.move_person_to_recycle_bin(person, actor=staff)

    again = start_enrollment(read_folder(dataset(tmp_path / "again", faces_data, "Old_Name", [2])), source="upload",
                             started_by=staff, queue=False)  # fmt: skip
    person.refresh_from_db()
    assert person.in_recycle_bin and person.images.count() == 1  # still in the bin, nothing added
    assert refusal_codes(again) == [Refusal.NAME_IN_RECYCLE_BIN]
    assert "restore the person first" in again.errors[0]["error"]
    assert Person.objects.filter(slug="old-name").count() == 1


@pytest.mark.parametrize("anonymise", [False, True])
def test_an_account_that_withdrew_consent_is_not_re_enrolled_by_name(tmp_path, faces_data, staff, settings,
                                                                     anonymise) -> None:  # fmt: skip
    """Kept (a name without face data, still linked) or anonymised (the Person erased), it stays un-enrolled."""
    settings.ATTENDANCE_ANONYMISE_ON_ERASURE = anonymise
    member = services.sign_up(username="wanda", email="w@example.test", name="Wanda Withdrawn", password=PASSWORD)
    services.withdraw_consent(member)
    assert Person.objects.filter(user=member).exists() is not anonymise

    batch = start_enrollment(read_folder(dataset(tmp_path, faces_data, "Wanda_Withdrawn")), source="upload",
                             started_by=staff, queue=False)  # fmt: skip
    assert batch.images.count() == 0 and not FaceImage.objects.exists()
    expected = Refusal.NAME_OF_ACCOUNT if not anonymise else Refusal.NAME_OF_WITHDRAWN
    assert refusal_codes(batch) == [expected] * 2
