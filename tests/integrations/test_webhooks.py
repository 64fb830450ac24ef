"""Webhooks against a real HTTP receiver on the loopback that checks every signature (Celery eager, as without
REDIS_URL): what arrives, what a receiver that is down or holds the wrong secret does to a delivery, and the
events that leave through the signals."""

from __future__ import annotations

import textwrap
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.models import UnknownFace
from attendance.services import record_presence, record_unknown_face
from devices.models import Device, Kind, Location
from integrations import signing, webhooks
from integrations.events import EventType
from integrations.models import Delivery
from integrations.signals import device_status_changed
from integrations.tasks import requeue_due_deliveries
from recognition.models import Enrollment, Source
from recognition.services.enrollment import start_enrollment
from recognition.uploads import UploadError
from tests.attendance.factories import BOX, frame
from tests.integrations.conftest import SECRET, device, subscribe

pytestmark = pytest.mark.django_db


def check_in(person, commit_callbacks, **extra):
    with commit_callbacks(execute=True):
        return record_presence(person_id=person.pk, source="camera", score=0.61, margin=0.2, frame_bgr=frame(),
                               box=BOX, stream="door", **extra)  # fmt: skip


def test_an_attendance_event_arrives_signed_with_names_scores_and_a_protected_crop_link(
    ada, receiver, client, django_capture_on_commit_callbacks
) -> None:
    receiver.start()
    subscribe(receiver.url, EventType.ATTENDANCE_CREATED)
    event = check_in(ada, django_capture_on_commit_callbacks)

    assert len(receiver.accepted) == 1 and receiver.rejected == 0
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    body, headers = receiver.accepted[0]["body"], receiver.accepted[0]["headers"]
    assert headers["X-Facesite-Event"] == "attendance.created" and headers["Content-Type"] == "application/json"
    assert body["type"] == "attendance.created" and body["device"] is None and body["location"] is None
    data = body["data"]
    assert data["person"] == {"id": ada.pk, "name": "Ada Lovelace"}
    assert (data["id"], data["kind"], data["source"], data["score"]) == (event.pk, "check_in", "camera", 0.61)
    assert "evidence" not in str(sorted(data)).replace("evidence_url", "")  # a link, never the crop's bytes
    path = reverse("v1:attendance-evidence", args=[event.pk])
    assert data["evidence_url"] == f"https://faces.example.test{path}"
    assert client.get(path).status_code == 401  # the link answers only with credentials


def test_a_receiver_that_is_down_loses_nothing_the_delivery_waits_and_arrives(
    ada, receiver, django_capture_on_commit_callbacks
) -> None:
    subscribe(receiver.url, EventType.ATTENDANCE_CREATED)
    check_in(ada, django_capture_on_commit_callbacks)  # nothing listens on the port yet: refused

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "refused" in delivery.last_error.lower() and delivery.next_attempt_at is not None

    receiver.start()
    time.sleep(0.25)  # past the backoff (WEBHOOK_BACKOFF_MAX_S 0.2 s)
    assert requeue_due_deliveries.delay().get() == 1  # the beat task finds it due and sends it
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error, delivery.delivered_at is not None) == ("delivered", "", True)
    assert delivery.attempts >= 2
    assert [a["body"]["data"]["person"]["name"] for a in receiver.accepted] == ["Ada Lovelace"]


def test_a_receiver_with_another_secret_rejects_and_the_delivery_is_retried_then_given_up(
    ada, receiver, settings, django_capture_on_commit_callbacks
) -> None:
    receiver.start()
    subscription = subscribe(receiver.url, EventType.ATTENDANCE_CREATED, secret="not-the-receivers-secret")
    check_in(ada, django_capture_on_commit_callbacks)
    for _ in range(settings.WEBHOOK_MAX_ATTEMPTS):
        time.sleep(0.25)
        requeue_due_deliveries.delay()

    delivery = Delivery.objects.get()
    assert receiver.accepted == [] and receiver.rejected == settings.WEBHOOK_MAX_ATTEMPTS
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 5, 401)
    assert delivery.next_attempt_at is None and "401" in delivery.last_error

    # The secret fixed, the given-up delivery is sent again (the admin action and the API call this).
    subscription.secret = SECRET
    subscription.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.resend(Delivery.objects.all()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.accepted)) == ("delivered", 1, 1)


def test_backoff_doubles_up_to_its_cap(settings) -> None:
    settings.WEBHOOK_BACKOFF_S, settings.WEBHOOK_BACKOFF_MAX_S = 10, 3600
    assert [webhooks.backoff_s(n) for n in (1, 2, 3, 4, 9, 20)] == [10, 20, 40, 80, 2560, 3600]


def test_the_signature_covers_timestamp_and_body() -> None:
    body = signing.body_of({"type": "x", "data": {"name": "Zoë"}})
    header = signing.signature("s3cret", 1700000000, body)
    assert signing.verify("s3cret", "1700000000", body, header)
    assert not signing.verify("s3cret", "1700000001", body, header)  # another timestamp
    assert not signing.verify("s3cret", "1700000000", body + b" ", header)  # another body
    assert not signing.verify("other", "1700000000", body, header)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "http://"])
def test_only_http_urls_are_accepted_or_called(url: str) -> None:
    from django.core.exceptions import ValidationError

    subscription = subscribe(url)
    with pytest.raises(ValidationError):
        subscription.full_clean()
    outcome = webhooks.post(url, "s", {}, timeout_s=1, event_type="t", delivery_id=1)  # even if stored anyway
    assert not outcome.ok and "not an http(s) URL" in outcome.error


def test_a_redirect_is_not_followed(receiver) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", receiver.url)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    receiver.start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        outcome = webhooks.post(f"http://127.0.0.1:{server.server_port}/", SECRET, {"a": 1}, timeout_s=2,
                                event_type="t", delivery_id=1)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert (outcome.ok, outcome.status_code, receiver.accepted) == (False, 302, [])


def test_only_subscribed_event_types_are_delivered_device_events_carry_device_and_location(
    receiver, django_capture_on_commit_callbacks
) -> None:
    receiver.start()
    subscribe(receiver.url, EventType.DEVICE_OFFLINE)
    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=True)
        device_status_changed.send(sender=object, device=device(), online=False, reason="lease expired")

    assert [a["body"]["type"] for a in receiver.accepted] == ["device.offline"]
    body = receiver.accepted[0]["body"]
    assert body["device"] == {"id": 7, "name": "Front door", "kind": "kiosk"}
    assert body["location"] == {"id": 3, "name": "HQ Lobby"}
    assert body["data"]["status"] == "offline" and body["data"]["reason"] == "lease expired"


def test_an_unknown_face_at_a_device_is_reported_once_past_the_alert_time(
    receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.UNKNOWN_FACE_ALERT_S = 10.0
    receiver.start()
    subscribe(receiver.url, EventType.UNKNOWN_FACE)
    door = Device.objects.create(name="Front door", kind=Kind.KIOSK, location=Location.objects.create(name="Lobby"))
    first = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        record_unknown_face(source="kiosk", stream="k/track-1", first_seen_at=first, seen_s=2.0, device_id=door.pk)
        record_unknown_face(source="kiosk", stream="k/track-2", first_seen_at=first, seen_s=2.0, device_id=door.pk)
        # track 1 stays: its second report (the alert time) lengthens the same row and makes the one event
        record_unknown_face(source="kiosk", stream="k/track-1", first_seen_at=first, seen_s=12.5, device_id=door.pk,
                            nearest_score=0.21)  # fmt: skip
        # a browser page has no device: recorded for the dashboard, not told to other systems
        record_unknown_face(source="page", stream="p/track-1", first_seen_at=first, seen_s=12.5)

    assert [a["body"]["data"]["track"] for a in receiver.accepted] == ["k/track-1"]
    body = receiver.accepted[0]["body"]
    assert body["data"]["seen_s"] == 12.5 and body["data"]["nearest_score"] == 0.21
    assert body["device"]["name"] == "Front door" and body["location"]["name"] == "Lobby"
    assert sorted(UnknownFace.objects.values_list("stream", "seen_s")) == [
        ("k/track-1", 12.5), ("k/track-2", 2.0), ("p/track-1", 12.5)
    ]  # fmt: skip


def test_a_finished_enrollment_batch_is_reported(receiver, django_capture_on_commit_callbacks) -> None:
    receiver.start()
    subscribe(receiver.url, EventType.ENROLLMENT_FINISHED)
    with django_capture_on_commit_callbacks(execute=True):
        batch = start_enrollment([UploadError("a.txt", "not an image")], source=Source.UPLOAD)

    assert Enrollment.objects.get().state == "done"
    [arrived] = receiver.accepted
    data = arrived["body"]["data"]
    assert (data["id"], data["state"], data["refused"], data["images"]) == (batch.pk, "done", 1, {})
    assert data["url"].startswith("https://faces.example.test/api/v1/enrollments/")


def test_a_disabled_subscription_gets_nothing(ada, receiver, django_capture_on_commit_callbacks) -> None:
    receiver.start()
    subscription = subscribe(receiver.url)
    subscription.enabled = False
    subscription.save()
    check_in(ada, django_capture_on_commit_callbacks)
    assert receiver.accepted == [] and not Delivery.objects.exists()


def test_erasing_a_person_removes_the_deliveries_that_name_them(
    ada, receiver, django_capture_on_commit_callbacks
) -> None:
    from recognition.signals import person_erasing

    receiver.start()
    subscribe(receiver.url)
    check_in(ada, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=True)
    assert Delivery.objects.count() == 2
    person_erasing.send(sender=type(ada), person=ada, person_kept=True)
    assert list(Delivery.objects.values_list("event_type", flat=True)) == ["device.online"]


def test_the_readme_receiver_example_verifies_a_real_delivery(receiver, django_capture_on_commit_callbacks) -> None:
    from tests.foundation.test_readme import README

    block = README.split("A receiver verifies it like this", 1)[1].split("\n\n")[1]
    assert len(block.splitlines()) == 5, block
    namespace: dict = {}
    exec(textwrap.dedent(block), namespace)  # the README's own lines, as a receiver would paste them

    receiver.start()
    subscribe(receiver.url, EventType.DEVICE_ONLINE)
    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=True)
    [arrived] = receiver.accepted
    assert namespace["verify"](SECRET.encode(), arrived["headers"], arrived["raw"]) is True
    assert namespace["verify"](b"another secret", arrived["headers"], arrived["raw"]) is False
    assert namespace["verify"](SECRET.encode(), arrived["headers"], arrived["raw"] + b" ") is False


def test_a_batch_finished_by_the_workers_is_reported_with_its_counts(
    ada, receiver, django_capture_on_commit_callbacks
) -> None:
    from recognition.models import FaceImage
    from recognition.services.enrollment import finish_if_complete

    receiver.start()
    subscribe(receiver.url, EventType.ENROLLMENT_FINISHED)
    batch = Enrollment.objects.create(source=Source.UPLOAD, state=Enrollment.State.RUNNING)
    for sha, status in (("a" * 64, "enrolled"), ("b" * 64, "rejected"), ("c" * 64, "pending")):
        FaceImage.objects.create(person=ada, enrollment=batch, file=f"x/{sha}.jpg", sha256=sha,
                                 source=Source.UPLOAD, status=status)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        finish_if_complete(batch.pk)  # one image still pending: not finished
    assert receiver.accepted == []

    FaceImage.objects.filter(status="pending").update(status="enrolled")
    with django_capture_on_commit_callbacks(execute=True):
        finish_if_complete(batch.pk)
        finish_if_complete(batch.pk)  # already done: told once
    [arrived] = receiver.accepted
    data = arrived["body"]["data"]
    assert (data["id"], data["images"], data["people"]) == (batch.pk, {"enrolled": 2, "rejected": 1}, 1)


def test_old_finished_deliveries_are_purged_pending_ones_kept(ada, receiver, settings,
                                                              django_capture_on_commit_callbacks) -> None:  # fmt: skip
    from datetime import timedelta

    from django.utils import timezone

    from integrations.tasks import purge_old_deliveries

    receiver.start()
    subscribe(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=True)
        device_status_changed.send(sender=object, device=device(), online=False)
    Delivery.objects.filter(event_type="device.offline").update(status="pending")
    Delivery.objects.update(updated_at=timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS + 1))
    assert purge_old_deliveries.delay().get() == 1
    assert list(Delivery.objects.values_list("event_type", flat=True)) == ["device.offline"]


@pytest.mark.django_db
def test_a_real_devices_status_change_is_delivered_once_per_coming_and_going(
    receiver, django_capture_on_commit_callbacks
) -> None:
    """The devices app's report_status (what the camera worker and the kiosk socket call) reaches a webhook:
    online, then offline with the error; offline -> error is no second "offline"."""
    from devices.models import Device, Location, Status
    from devices.services import report_status

    receiver.start()
    subscribe(receiver.url, EventType.DEVICE_ONLINE, EventType.DEVICE_OFFLINE)
    camera = Device.objects.create(name="Gate camera", location=Location.objects.create(name="Gate"), kind="camera")
    with django_capture_on_commit_callbacks(execute=True):
        report_status(camera.pk, Status.ONLINE, fps=10.0)
    with django_capture_on_commit_callbacks(execute=True):
        report_status(camera.pk, Status.OFFLINE, error="stream lost")
    with django_capture_on_commit_callbacks(execute=True):
        report_status(camera.pk, Status.ERROR, error="stream lost again")
    bodies = [a["body"] for a in receiver.accepted]
    assert [b["type"] for b in bodies] == ["device.online", "device.offline"]
    assert bodies[1]["device"]["name"] == "Gate camera" and bodies[1]["location"]["name"] == "Gate"
    assert bodies[1]["data"]["reason"] == "stream lost"
