"""record_presence on the real database: rules, local days, evidence crops, broadcasts, erasure, retention."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from attendance import selectors, services
from attendance.models import AttendanceEvent
from tests.attendance.factories import BOX, frame, utc

BERLIN = ZoneInfo("Europe/Berlin")


def seen(person, when: datetime, source: str = "camera", **extra) -> AttendanceEvent | None:
    return services.record_presence(
        person_id=person.pk, source=source, score=0.61, margin=0.12, frame_bgr=frame(), box=BOX,
        stream="s1/track-1", at=when, **extra,
    )  # fmt: skip


def kinds(events) -> list[str | None]:
    return [e.kind if e is not None else None for e in events]


@pytest.mark.django_db
def test_scripted_day_cooldown_per_source_exit_and_gap(people) -> None:
    alice = people["alice"]
    events = [
        seen(alice, utc(2025, 6, 10, 9, 0), "camera"),
        seen(alice, utc(2025, 6, 10, 9, 2), "camera"),  # cooldown at the camera
        seen(alice, utc(2025, 6, 10, 9, 3), "kiosk"),  # the kiosk's cooldown is its own
        seen(alice, utc(2025, 6, 10, 9, 6), "kiosk"),  # 3 min after the kiosk: cooldown
        seen(alice, utc(2025, 6, 10, 12, 0), "exit"),  # exit source: check-out
        seen(alice, utc(2025, 6, 10, 13, 0), "camera"),  # back in
        seen(alice, utc(2025, 6, 10, 17, 30), "kiosk"),  # 4.5 h after the check-in: check-out
    ]
    assert kinds(events) == ["check_in", None, "seen", None, "check_out", "check_in", "check_out"]
    assert AttendanceEvent.objects.filter(person=alice).count() == 5
    # another person's sightings do not interfere
    assert seen(people["bob"], utc(2025, 6, 10, 9, 1), "camera").kind == "check_in"

    keys = selectors.summary_keys(selectors.events(people["staff"]))
    by_person = {s.person_id: s for s in selectors.daily_summaries(people["staff"], keys)}
    day = by_person[alice.pk]
    assert day.day.isoformat() == "2025-06-10"
    assert day.summary.first_in == utc(2025, 6, 10, 9, 0)
    assert day.summary.last_out == utc(2025, 6, 10, 17, 30)
    assert day.summary.present_s == 3 * 3600 + 4.5 * 3600
    assert day.present == "7:30"
    assert day.summary.events == 5
    assert by_person[people["bob"].pk].summary.present_s == 0


@pytest.mark.django_db
def test_day_boundary_follows_the_site_time_zone(people, settings) -> None:
    """22:00 and 23:30 UTC on 15 January: one day in UTC, two days in Berlin (23:00 and 00:30 local)."""
    settings.ATTENDANCE_CHECKOUT_GAP_S = 8 * 3600
    first, second = utc(2025, 1, 15, 22, 0), utc(2025, 1, 15, 23, 30)

    settings.TIME_ZONE = "UTC"
    in_utc = [seen(people["alice"], first), seen(people["alice"], second)]
    assert kinds(in_utc) == ["check_in", "seen"]
    assert [e.day.isoformat() for e in in_utc] == ["2025-01-15", "2025-01-15"]

    settings.TIME_ZONE = "Europe/Berlin"
    in_berlin = [seen(people["bob"], first), seen(people["bob"], second)]
    assert kinds(in_berlin) == ["check_in", "check_in"]  # the second is the first sighting of 16 January
    assert [e.day.isoformat() for e in in_berlin] == ["2025-01-15", "2025-01-16"]
    # the filters and summaries use the stored local day
    staff = people["staff"]
    query = selectors.EventQuery.from_params({"from": "2025-01-16", "to": "2025-01-16"})
    assert list(selectors.events(staff, query).values_list("pk", flat=True)) == [in_berlin[1].pk]


@pytest.mark.django_db
def test_cooldown_across_a_dst_change_is_elapsed_time(people, settings) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    before = datetime(2025, 3, 30, 1, 58, tzinfo=BERLIN)  # 00:58 UTC
    after = datetime(2025, 3, 30, 3, 1, tzinfo=BERLIN)  # 01:01 UTC: three minutes later
    assert seen(people["alice"], before).kind == "check_in"
    assert seen(people["alice"], after) is None
    assert seen(people["alice"], after + timedelta(minutes=2)).kind == "seen"  # 5 min elapsed


@pytest.mark.django_db
def test_naive_times_are_taken_in_the_site_zone_and_unknown_sources_refused(people, settings) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    event = seen(people["alice"], datetime(2025, 7, 1, 0, 30))  # naive: 00:30 in Berlin
    assert event.at == utc(2025, 6, 30, 22, 30)
    assert event.day.isoformat() == "2025-07-01"
    with pytest.raises(ValueError, match="unknown attendance source"):
        seen(people["alice"], utc(2025, 7, 1, 9, 0), "teleporter")
    assert AttendanceEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_configured_exit_source_checks_out(people, settings) -> None:
    settings.ATTENDANCE_EXIT_SOURCES = ["kiosk"]
    assert seen(people["alice"], utc(2025, 6, 10, 9, 0), "camera").kind == "check_in"
    assert seen(people["alice"], utc(2025, 6, 10, 9, 10), "kiosk").kind == "check_out"
    # "exit" is no longer an exit: a sighting there after leaving is coming back in
    assert seen(people["alice"], utc(2025, 6, 10, 9, 20), "exit").kind == "check_in"


@pytest.mark.django_db
def test_evidence_crop_is_a_small_jpeg_of_the_face(people, settings) -> None:
    image = np.zeros((240, 200, 3), dtype=np.uint8)
    image[40:150, 60:140] = (0, 0, 255)  # the face box is red, everything else black
    event = services.record_presence(
        person_id=people["alice"].pk, source="camera", score=0.7, margin=0.2, frame_bgr=image, box=BOX,
        stream="s1/track-7", emotion="happy", at=utc(2025, 6, 10, 9, 0),
    )  # fmt: skip
    path = Path(event.evidence.path)
    assert path.is_relative_to(Path(settings.MEDIA_ROOT) / "evidence")
    assert "alice" not in str(path).lower() and str(people["alice"].pk) not in path.parent.name
    crop = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert max(crop.shape[:2]) == 96
    centre = crop[crop.shape[0] // 2, crop.shape[1] // 2]
    assert centre[2] > 200 and centre[0] < 60  # red in the middle: the crop is of the box
    assert (event.emotion, event.stream, event.score) == ("happy", "s1/track-7", pytest.approx(0.7))


@pytest.mark.django_db
def test_no_evidence_when_retention_is_zero_or_the_box_is_empty(people, settings) -> None:
    settings.EVIDENCE_RETENTION_DAYS = 0
    assert not seen(people["alice"], utc(2025, 6, 10, 9, 0)).evidence
    settings.EVIDENCE_RETENTION_DAYS = 30
    outside = services.record_presence(
        person_id=people["bob"].pk, source="camera", score=0.7, margin=0.2, frame_bgr=frame(),
        box=np.array([500, 500, 600, 600], np.float32), stream="s", at=utc(2025, 6, 10, 9, 0),
    )  # fmt: skip
    assert outside is not None and not outside.evidence


@pytest.mark.django_db
def test_new_event_is_broadcast_after_commit_and_cooldown_is_not(
    people, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    sent = []
    monkeypatch.setattr(services, "broadcast", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        event = seen(people["alice"], utc(2025, 6, 10, 9, 0))
        seen(people["alice"], utc(2025, 6, 10, 9, 1))  # inside the cooldown: nothing to send
    assert len(sent) == 1
    payload = sent[0]
    assert payload["id"] == event.pk and payload["person"] == "Alice Archer" and payload["kind"] == "check_in"
    assert payload["summary"]["first_in"] == "09:00:00" and payload["summary"]["events"] == 1
    assert payload["evidence_url"].endswith(f"/attendance/evidence/{event.pk}.jpg")


@pytest.mark.django_db(transaction=True)
def test_two_streams_at_once_make_one_check_in(people) -> None:
    """The person's row lock: two sources seeing the same person at the same moment, from two threads."""
    alice = people["alice"]
    start = threading.Barrier(2)

    def record(source: str) -> str:
        try:
            start.wait(timeout=10)
            return seen(alice, utc(2025, 6, 10, 9, 0), source).kind
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(record, ["camera", "kiosk"]))
    assert results == ["check_in", "seen"]


@pytest.mark.django_db
def test_anonymise_attendance_unlinks_rows_and_deletes_crops(people) -> None:
    alice, bob = people["alice"], people["bob"]
    mine = [seen(alice, utc(2025, 6, 10, 9, 0)), seen(alice, utc(2025, 6, 11, 9, 0))]
    other = seen(bob, utc(2025, 6, 10, 9, 0))
    files = [Path(e.evidence.path) for e in mine]
    assert all(f.exists() for f in files)

    assert services.anonymise_attendance(alice) == 2
    rows = AttendanceEvent.objects.filter(pk__in=[e.pk for e in mine])
    assert rows.count() == 2  # kept for headcounts
    assert set(rows.values_list("person", flat=True)) == {None}
    keys = set(rows.values_list("anonymous_key", flat=True))
    assert len(keys) == 1 and next(iter(keys)).startswith("anon-")
    assert set(rows.values_list("evidence", flat=True)) == {""}
    assert set(rows.values_list("emotion", flat=True)) == {""}
    assert not any(f.exists() for f in files)
    other.refresh_from_db()
    assert other.person_id == bob.pk and other.evidence and Path(other.evidence.path).exists()
    # the member no longer sees the rows; staff see them anonymised
    assert not selectors.events(people["alice_user"]).exists()
    assert selectors.events(people["staff"]).filter(person__isnull=True).count() == 2


@pytest.mark.django_db
def test_erasure_follows_the_setting(people, settings) -> None:
    alice, bob = people["alice"], people["bob"]
    a, b = seen(alice, utc(2025, 6, 10, 9, 0)), seen(bob, utc(2025, 6, 10, 9, 0))
    settings.ATTENDANCE_ANONYMISE_ON_ERASURE = False
    crop = Path(a.evidence.path)
    assert services.handle_biometric_erasure(alice) == 1
    a.refresh_from_db()
    assert a.person_id == alice.pk and not a.evidence and not crop.exists()  # kept, linked, crop gone
    settings.ATTENDANCE_ANONYMISE_ON_ERASURE = True
    assert services.handle_biometric_erasure(bob) == 1
    b.refresh_from_db()
    assert b.person_id is None and b.anonymous_key


@pytest.mark.django_db
def test_expired_evidence_is_purged_and_events_stay(people, settings) -> None:
    settings.EVIDENCE_RETENTION_DAYS = 30
    old = seen(people["alice"], utc(2025, 5, 1, 9, 0))
    recent = seen(people["alice"], utc(2025, 6, 9, 9, 0))
    old_file = Path(old.evidence.path)
    assert services.purge_expired_evidence(now=utc(2025, 6, 10, 12, 0)) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.evidence and not old_file.exists() and old.kind == "check_in"
    assert recent.evidence and Path(recent.evidence.path).exists()
    # the daily command uses the real clock, by which the 2025 event is long past 30 days
    out = io.StringIO()
    call_command("purge_evidence", stdout=out)
    assert "removed 1 face crop(s) older than 30 days" in out.getvalue()
    recent.refresh_from_db()
    assert not recent.evidence


@pytest.mark.django_db
def test_presence_of_an_unknown_person_is_an_error(people, settings) -> None:
    with pytest.raises(Exception, match="does not exist"):
        services.record_presence(
            person_id=999_999, source="camera", score=0.5, margin=0.1, frame_bgr=frame(), box=BOX, stream="s"
        )
    assert not (Path(settings.MEDIA_ROOT) / "evidence").exists()
