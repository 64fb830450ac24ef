"""End to end in headless Chromium: an admin's pairing code pairs a tablet at /kiosk/, and its fake camera
(the Hamilton clip) checks the performer in at the kiosk's place, with the big welcome on screen; the server
restarts and the kiosk carries on by itself, still paired."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attendance.models import AttendanceEvent
from bench.harness import read_frames
from devices.models import Device, Kind, Location, Status
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live.conftest import write_y4m
from tests.live.test_live_socket import enroll_cast


@pytest.mark.browser
@pytest.mark.services
def test_a_paired_kiosk_checks_a_person_in_and_outlives_a_server_restart(transactional_db, start_daphne, faces_data,
                                                                         hamilton_cast, tmp_path) -> None:  # fmt: skip
    ids = enroll_cast(hamilton_cast)
    lobby = Location.objects.create(name="Lobby")
    kiosk = Device.objects.create(name="Door tablet", location=lobby, kind=Kind.KIOSK)
    admin = get_user_model().objects.create_superuser("admin", password="a-long-test-password")
    staff = Client()
    staff.force_login(admin)
    link = staff.post(f"/api/v1/devices/{kiosk.pk}/pairing/").json()["link"]
    code = link.rsplit("=", 1)[1]
    camera = write_y4m(read_frames(faces_data / "video/facerec_short_hamilton_clip.mp4", limit=60),
                       tmp_path / "door.y4m")  # fmt: skip
    server = start_daphne()
    run_kiosk(server.url, code, camera, tmp_path, server.stop, server.start)  # a restart on the same port
    server.stop()  # lets it finish the closed socket's work (the device going offline) before the checks

    event = AttendanceEvent.objects.get(person_id=ids["lin_manuel_miranda"])
    assert (event.device_id, event.device.location, event.source, event.kind) == (kiosk.pk, lobby, "kiosk",
                                                                                   "check_in")  # fmt: skip
    kiosk.refresh_from_db()
    assert kiosk.status == Status.OFFLINE and kiosk.last_seen is not None  # it went away with the browser


def run_kiosk(base_url: str, code: str, camera, tmp_path, stop_server, start_server) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={camera}"],
        )  # fmt: skip
        page = browser.new_page()  # no person logs in: the kiosk is the device, not someone's session
        page.goto(f"{base_url}/kiosk/?code={code}")
        assert page.input_value("#code") == code
        page.click("#pair")
        page.wait_for_url(f"{base_url}/kiosk/")
        page.wait_for_function(
            "() => window.faceKiosk.shown().some(t => t.startsWith('Welcome, lin_manuel_miranda – checked in'))",
            timeout=45_000,
        )
        assert page.locator("#message").is_visible()
        assert page.locator("a").count() == 0  # no navigation
        page.screenshot(path=str(tmp_path / "kiosk.png"))

        stop_server()  # a deploy or a crash: the page stays as it is and must carry on by itself
        page.wait_for_function("() => document.querySelector('#connection').textContent.includes('reconnecting')")
        start_server()
        answered = page.evaluate("() => window.faceKiosk.replies()")
        page.wait_for_function(f"() => window.faceKiosk.replies() > {answered + 5}", timeout=30_000)
        assert page.locator("#connection").inner_text() == ""  # reconnected, still paired: no pairing page
        assert page.url == f"{base_url}/kiosk/" and page.locator("#video").count() == 1
        browser.close()
