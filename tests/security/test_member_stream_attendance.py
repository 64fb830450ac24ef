"""Adversarial: a member checks themselves in from anywhere with their own /live/ page. By default it records nothing
(LIVE_MEMBER_ATTENDANCE allows it); kiosks still record. And on a member's page an enrolled stranger looks exactly
like one who is not enrolled. Real models, a real gallery, real photos as camera frames (../shared/data/faces)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from attendance.models import AttendanceEvent
from recognition.live.streams import open_stream
from recognition.models import Person, Source
from recognition.services.enrollment import enroll_images, start_enrollment
from recognition.uploads import UploadItem
from tests.accounts.conftest import webcam_frame
from tests.matching.gallery import analyzer_or_skip
from tests.security.conftest import make_user

pytestmark = pytest.mark.django_db

MEMBER_SET, ENROLLED_STRANGER, UNKNOWN_STRANGER = "identities/deepface_p01", "identities/deepface_p03", \
    "identities/deepface_p02"  # fmt: skip


@pytest.fixture(autouse=True)
def quick_live(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LIVE_DETECT_EVERY = settings.LIVE_RECOGNIZE_EVERY = 1  # a face is confirmed within a few frames
    settings.LIVE_DEFER_RECOGNITION = False


@pytest.fixture
def people(faces_data: Path) -> dict[str, Person]:
    """The member (their Person linked to their account) and an enrolled stranger, enrolled by staff."""
    analyzer = analyzer_or_skip()
    member = make_user("ann")
    people = {"member": Person.objects.create(display_name="Ann Archer", slug="ann-archer", user=member),
              "stranger": Person.objects.create(display_name="Sam Stranger", slug="sam-stranger")}  # fmt: skip
    staff = make_user("staffer", is_staff=True)
    for key, folder in (("member", MEMBER_SET), ("stranger", ENROLLED_STRANGER)):
        items = [UploadItem("", f"{n}.jpg", (faces_data / folder / f"{n}.jpg").read_bytes()) for n in (1, 2)]
        batch = start_enrollment(items, source=Source.UPLOAD, started_by=staff, person=people[key], queue=False)
        enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer)
        assert people[key].embeddings.count() == 2
    return people


def watch(stream, faces_data: Path, photo: str, frames: int = 8) -> list:
    """The stream's answers for one face held in front of the camera for a few frames."""
    frame = webcam_frame(cv2.imread(str(faces_data / photo)))
    return [result for _ in range(frames) for result in stream.process(frame)]


def test_a_members_own_page_records_nothing_by_default(faces_data, people) -> None:
    member = people["member"]
    stream = open_stream(stream_id="s1", operator=False, own_person=member.pk)
    results = watch(stream, faces_data, f"{MEMBER_SET}/3.jpg")
    assert any(r.person_id == member.pk and r.confirmed for r in results)  # they see themselves
    assert stream.seen == {member.pk: "Ann Archer"}
    assert not AttendanceEvent.objects.exists()


def test_the_setting_lets_a_members_page_record(faces_data, people, settings) -> None:
    settings.LIVE_MEMBER_ATTENDANCE = True
    member = people["member"]
    stream = open_stream(stream_id="s2", operator=False, own_person=member.pk)
    watch(stream, faces_data, f"{MEMBER_SET}/3.jpg")
    assert list(AttendanceEvent.objects.values_list("person", "source")) == [(member.pk, "page")]


def test_a_kiosk_still_records(faces_data, people) -> None:
    stream = open_stream(stream_id="k1", operator=True, own_person=None)
    watch(stream, faces_data, f"{MEMBER_SET}/3.jpg")
    assert list(AttendanceEvent.objects.values_list("person", "source")) == [(people["member"].pk, "kiosk")]


def test_an_enrolled_stranger_looks_like_any_stranger_on_a_members_page(faces_data, people) -> None:
    member = people["member"]
    answers = {}
    for key, photo in (("enrolled", f"{ENROLLED_STRANGER}/3.jpg"), ("unknown", f"{UNKNOWN_STRANGER}/3.jpg")):
        stream = open_stream(stream_id=key, operator=False, own_person=member.pk)
        results = [r.as_dict() for r in watch(stream, faces_data, photo) if r.name]
        assert results, f"no face recognised in {photo}"
        answers[key] = {(r["name"], r["person_id"], r["score"]) for r in results}
    assert answers["enrolled"] == answers["unknown"] == {("unknown", None, 0.0)}
    # An operator's kiosk does name the enrolled stranger (the gallery really knows them).
    kiosk = open_stream(stream_id="k2", operator=True, own_person=None)
    assert any(r.person_id == people["stranger"].pk for r in watch(kiosk, faces_data, f"{ENROLLED_STRANGER}/3.jpg"))
