"""End to end in headless Chromium: a fake camera plays a real face video into /live."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from bench.harness import read_frames
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live.conftest import write_y4m
from tests.live.test_live_socket import enroll_cast

PASSWORD = "a-long-test-password"


def open_live_page(playwright, base_url: str, camera_file: Path, username: str):
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={camera_file}"],
    )  # fmt: skip
    page = browser.new_page()
    page.goto(f"{base_url}/live/")  # redirected to the login page first
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/live/")
    page.click("#start")
    return browser, page


def wait_for_name(page, predicate_js: str, timeout_ms: int = 30_000) -> list[dict]:
    page.wait_for_function(f"() => window.faceLive.tracks().some(t => {predicate_js})", timeout=timeout_ms)
    return page.evaluate("() => window.faceLive.tracks()")


@pytest.mark.browser
def test_live_page_names_an_enrolled_person_and_not_a_stranger(daphne_server, faces_data, hamilton_cast,
                                                               tmp_path) -> None:  # fmt: skip
    enroll_cast(hamilton_cast)
    get_user_model().objects.create_user("kiosk", password=PASSWORD, is_staff=True)
    performers = write_y4m(read_frames(faces_data / "video/facerec_short_hamilton_clip.mp4", limit=40),
                           tmp_path / "performers.y4m")  # fmt: skip
    strangers = write_y4m(read_frames(faces_data / "video/facenet_pytorch_video.mp4", limit=60, size=(640, 360)),
                          tmp_path / "strangers.y4m")  # fmt: skip
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = open_live_page(playwright, daphne_server, performers, "kiosk")
        tracks = wait_for_name(page, "t.confirmed && t.name === 'lin_manuel_miranda'")
        assert any(t["person_id"] is not None for t in tracks)
        page.wait_for_function("() => document.querySelector('#seen').textContent.includes('lin_manuel_miranda')")
        assert "fps" in page.locator("#readout").inner_text()
        page.screenshot(path=str(tmp_path / "live.png"))
        browser.close()

        browser, page = open_live_page(playwright, daphne_server, strangers, "kiosk")
        tracks = wait_for_name(page, "t.confirmed && t.name === 'unknown'")
        assert not any(t["name"] in ("lin_manuel_miranda", "alex_lacamoire") for t in tracks)
        browser.close()


@pytest.mark.browser
def test_live_page_names_obama_in_the_audience_not_the_performer(daphne_server, faces_data, hamilton_cast,
                                                                 turn_takers, tmp_path) -> None:  # fmt: skip
    """The report that started it: after the cut from the performer to the audience, /live/ showed Obama as
    the performer, and he never reached "Recognised this session". Played (looping) from the performer's last
    seconds through the cut, Obama must be named and listed as seen."""
    ids = enroll_cast({**hamilton_cast, 3: (turn_takers[1][0], turn_takers[1][1])})
    get_user_model().objects.create_user("kiosk", password=PASSWORD, is_staff=True)
    frames = read_frames(faces_data / "video/facerec_short_hamilton_clip.mp4")[170:]  # performer, cut, audience
    camera = write_y4m(frames, tmp_path / "audience.y4m", fps=15)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = open_live_page(playwright, daphne_server, camera, "kiosk")
        page.wait_for_function("() => window.faceLive.tracks().some(t => t.name === 'obama')", timeout=60_000)
        page.wait_for_function("() => document.querySelector('#seen').textContent.includes('obama')")
        page.screenshot(path=str(tmp_path / "audience.png"))
        tracks = page.evaluate("() => window.faceLive.tracks()")
        obama = [t for t in tracks if t["name"] == "obama"]
        assert all(t["person_id"] == ids["obama"] for t in obama)
        browser.close()
