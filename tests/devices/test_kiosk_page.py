"""End to end in headless Chromium: an admin's pairing code pairs a tablet at /kiosk/, and its fake camera
(the Hamilton clip) checks the performer in at the kiosk's place, with the big welcome on screen."""

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
def test_a_paired_kiosk_checks_a_person_in(daphne_server, faces_data, hamilton_cast, tmp_path) -> None:
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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={camera}"],
        )  # fmt: skip
        page = browser.new_page()  # no person logs in: the kiosk is the device, not someone's session
        page.goto(f"{daphne_server}/kiosk/?code={code}")
        assert page.input_value("#code") == code
        page.click("#pair")
        page.wait_for_url(f"{daphne_server}/kiosk/")
        page.wait_for_function(
            "() => window.faceKiosk.shown().some(t => t.startsWith('Welcome, lin_manuel_miranda – checked in'))",
            timeout=45_000,
        )
        assert page.locator("#message").is_visible()
        assert page.locator("a").count() == 0  # no navigation
        page.screenshot(path=str(tmp_path / "kiosk.png"))
        browser.close()

    event = AttendanceEvent.objects.get(person_id=ids["lin_manuel_miranda"])
    assert (event.device_id, event.device.location, event.source, event.kind) == (kiosk.pk, lobby, "kiosk",
                                                                                   "check_in")  # fmt: skip
    kiosk.refresh_from_db()
    assert kiosk.status == Status.OFFLINE and kiosk.last_seen is not None  # it went away with the browser
