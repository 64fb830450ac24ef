"""A kiosk that requires liveness: a recognised person is checked in only after the head-turn challenge; a
photo held to the tablet (the performers of a clip, who never turn as asked) checks no one in."""

import asyncio
import json

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator

from attendance.models import AttendanceEvent
from devices import kiosk_liveness, services
from devices.kiosk_liveness import LivenessGate
from devices.models import Device, Kind, Location
from recognition.domain.liveness import ChallengeStep
from recognition.live.streams import LiveStream, Sighting
from recognition.services.enrollment import create_person
from tests.accounts.test_capture_liveness import WOJTEK, video_frames
from tests.live.test_live_socket import enroll_cast, jpeg_message


def held_sighting(stream: LiveStream, person_id: int, frame: np.ndarray) -> None:
    """What the stream holds once it has confirmed the person (the gallery part is tested elsewhere)."""
    stream.held.append(Sighting(person_id=person_id, name="Wojtek", source="kiosk", score=0.7, margin=0.3,
                                frame_bgr=frame, box=np.array([0, 0, 50, 50], dtype=np.float32),
                                stream="kiosk-1/track-1", emotion="", device_id=None))  # fmt: skip


@pytest.mark.django_db
def test_the_person_who_turns_as_asked_is_checked_in_when_the_challenge_passes(faces_data, monkeypatch) -> None:
    video = faces_data / WOJTEK
    if not video.is_file():
        pytest.skip(f"{WOJTEK} not in the shared data")
    # The server picks the challenge at random; here it picks what the man in the video does.
    monkeypatch.setattr("recognition.liveness.new_challenge",
                        lambda length=None: (ChallengeStep.TURN_RIGHT, ChallengeStep.LOOK_UP))  # fmt: skip
    person = create_person("Wojtek")
    stream = LiveStream(source="kiosk", stream_id="kiosk-1", hold_confirmations=True)
    gate = LivenessGate(stream)
    states = []
    for t, frame in video_frames(video, until_s=9.5):
        if not states:
            held_sighting(stream, person.pk, frame)
        states.append(gate.offer(frame, {person.pk}, 1000.0 + t))
        if states[-1].state == "passed":
            break
    assert states[-1].state == "passed", states[-1]
    assert {s.state for s in states[:-1]} == {"challenge"}
    assert states[0].instruction and states[0].steps == 2 and states[0].name == "Wojtek"
    event = AttendanceEvent.objects.get()
    assert (event.person_id, event.source, event.kind) == (person.pk, "kiosk", "check_in")
    assert [e.pk for e in stream.recorded] == [event.pk]  # for the kiosk's "Welcome, Wojtek - checked in"


@pytest.mark.django_db
def test_a_still_photo_fails_the_challenge_checks_no_one_in_and_is_asked_again_while_in_view(
    faces_data, settings
) -> None:
    settings.LIVENESS_TIMEOUT_S = 3.0
    person = create_person("Wojtek")
    photo = next(frame for _, frame in video_frames(faces_data / WOJTEK, until_s=0.1))
    rng = np.random.default_rng(1)
    stream = LiveStream(source="kiosk", stream_id="kiosk-1", hold_confirmations=True)
    gate = LivenessGate(stream)
    held_sighting(stream, person.pk, photo)
    states = []
    for i in range(60):  # 6 s at 10 fps: the photo held still, with sensor noise
        noisy = np.clip(photo.astype(np.int16) + rng.integers(-3, 4, photo.shape), 0, 255).astype(np.uint8)
        states.append(gate.offer(noisy, {person.pk}, 1000.0 + i / 10))
    failed = [i for i, s in enumerate(states) if s.state == "failed"]
    assert failed and states[failed[0]].reason == "timeout"
    assert not AttendanceEvent.objects.exists() and stream.recorded == []
    # still named in view after RETRY_AFTER_S: a new challenge for the same person
    retry = failed[0] + int(kiosk_liveness.RETRY_AFTER_S * 10)
    assert states[retry].state == "challenge" and states[retry].name == "Wojtek"
    # gone from view: nothing more is asked
    after = gate.offer(photo, set(), 1000.0 + 60)
    while after.state == "challenge":
        after = gate.offer(photo, set(), 1000.0 + 70)
    assert gate.offer(photo, set(), 1000.0 + 80).state == "idle"


@pytest.mark.django_db(transaction=True)
def test_a_kiosk_that_requires_liveness_asks_the_person_it_knows_and_records_no_one_who_does_not_turn(
    faces_data, live_analyzer, settings
) -> None:
    from facesite.asgi import application

    video = faces_data / WOJTEK
    if not video.is_file():
        pytest.skip(f"{WOJTEK} not in the shared data")
    frontal = [frame for _, frame in video_frames(video, until_s=2.0)]  # he faces the camera, never turns
    vectors = [live_analyzer.analyze(f, emotion=False, max_faces=1)[0].embedding for f in frontal[::5]]
    enroll_cast({1: ("wojtek", vectors)})
    door = Device.objects.create(name="Door", location=Location.objects.create(name="Lobby"), kind=Kind.KIOSK,
                                 require_liveness=True)  # fmt: skip
    _, credential = services.pair(services.start_pairing(door))
    cookie = f"{settings.KIOSK_COOKIE}={credential}".encode()

    async def go():
        headers = [(b"origin", b"http://localhost"), (b"cookie", cookie)]
        communicator = WebsocketCommunicator(application, "/ws/kiosk/", headers=headers)
        assert (await communicator.connect())[0]
        replies = []
        for frame_id, frame in enumerate(frontal):
            await communicator.send_to(bytes_data=jpeg_message(frame, frame_id))
            replies.append(json.loads(await communicator.receive_from(timeout=30)))
        await communicator.disconnect()
        return replies

    replies = asyncio.run(go())
    assert any(t["name"] == "wojtek" for r in replies for t in r["tracks"])  # recognised...
    assert not any(r["checkins"] for r in replies) and not AttendanceEvent.objects.exists()  # ...not checked in
    challenged = [r["liveness"] for r in replies if r["liveness"]["state"] == "challenge"]
    assert challenged and {c["name"] for c in challenged} == {"wojtek"}
    assert challenged[0]["instruction"].endswith(", then back") and challenged[0]["steps"] == 2


@pytest.mark.browser
@pytest.mark.services
def test_the_tablet_shows_the_challenge_to_the_person_it_knows_and_checks_no_one_in_who_does_not_turn(
    transactional_db, start_daphne, faces_data, live_analyzer, tmp_path
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.live.conftest import write_y4m

    video = faces_data / WOJTEK
    if not video.is_file():
        pytest.skip(f"{WOJTEK} not in the shared data")
    frontal = [frame for _, frame in video_frames(video, until_s=2.0, every=1)]  # he faces the camera, still
    vectors = [live_analyzer.analyze(f, emotion=False, max_faces=1)[0].embedding for f in frontal[::10]]
    enroll_cast({1: ("wojtek", vectors)})
    door = Device.objects.create(name="Door", location=Location.objects.create(name="Lobby"), kind=Kind.KIOSK,
                                 require_liveness=True)  # fmt: skip
    code = services.start_pairing(door)
    camera = write_y4m(frontal, tmp_path / "door.y4m")
    server = start_daphne(LIVENESS_TIMEOUT_S="4")  # a still face runs out of time soon
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={camera}"],
        )  # fmt: skip
        page = browser.new_page()
        page.goto(f"{server.url}/kiosk/?code={code}")
        page.click("#pair")
        page.wait_for_url(f"{server.url}/kiosk/")
        page.wait_for_function(
            "() => window.faceKiosk.shown().some(t => t.startsWith('wojtek: ') && t.includes(', then back (1 of 2)'))",
            timeout=45_000,
        )
        assert "challenge" in page.locator("#message").get_attribute("class")
        page.screenshot(path=str(tmp_path / "kiosk-challenge.png"))
        page.wait_for_function(  # he never turns: the challenge times out and the tablet says so, then asks again
            "() => window.faceKiosk.shown().some(t => t.startsWith('Sorry, wojtek – that took too long.'))",
            timeout=30_000,
        )
        shown = page.evaluate("() => window.faceKiosk.shown()")
        browser.close()
    server.stop()
    assert not any(text.startswith("Welcome, wojtek – checked in") for text in shown)
    assert not AttendanceEvent.objects.exists()  # recognised, asked, never checked in
