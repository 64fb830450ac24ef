"""Sign-up end to end in headless Chromium: a fake camera plays real photos of one person (deepface_p01
1-7, each held ~1 s with slight shifts, as a person moving in front of a webcam would give); the account is
created, the photos kept live and enrolled, the user logged in and shown their profile; then /live, with a
camera playing a photo of them that was NOT enrolled (8.jpg), shows the member their own name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from django.contrib.auth import get_user_model

from accounts.models import Consent
from recognition.models import Enrollment, FaceEmbedding, FaceImage, Person
from tests.accounts.conftest import PASSWORD, SIGNUP_SET, webcam_frame
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    free_port,
    service_env,
    stop_process,
    test_database_url,
    wait_for_port,
)
from tests.live.conftest import write_y4m

SHIFTS = [(0, 0), (2, 1), (3, -1), (1, -2), (-1, 2), (-2, 0), (0, 2), (2, -1), (-1, -1), (1, 1), (0, -2)]


@pytest.fixture
def signup_server(request, transactional_db, settings, tmp_path: Path):
    """daphne on the test database, its media and pending sign-up frames in tmp (Celery eager, in-process).
    The fake camera plays photos, which cannot pass the liveness challenge: the sign-up flow is tested without
    it, and with it (indirect parameter "liveness") that the photos are refused."""
    port = free_port()
    log_path = tmp_path / "daphne.log"
    liveness = getattr(request, "param", "") == "liveness"
    env = service_env(DATABASE_URL=test_database_url(), FACESITE_MEDIA_ROOT=str(settings.MEDIA_ROOT),
                      SIGNUP_PENDING_DIR=str(settings.SIGNUP_PENDING_DIR),
                      LIVENESS_REQUIRED="true" if liveness else "false")  # fmt: skip
    env.pop("REDIS_URL", None)
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "facesite.asgi:application"],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port, process)
        except (RuntimeError, TimeoutError):
            raise RuntimeError(log_path.read_text()[-3000:]) from None
        yield f"http://127.0.0.1:{port}"
        stop_process(process)


def camera_file(faces_data: Path, numbers, path: Path, frames_each: int = 12) -> Path:
    frames = []
    for n in numbers:
        photo = cv2.imread(str(faces_data / SIGNUP_SET / f"{n}.jpg"))
        frames += [webcam_frame(photo, shift=SHIFTS[i % len(SHIFTS)]) for i in range(frames_each)]
    return write_y4m(frames, path, fps=10)


def launch(playwright, camera: Path):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={camera}"],
    )  # fmt: skip


@pytest.mark.browser
def test_sign_up_with_the_webcam_then_live_recognises_the_new_member(
    signup_server: str, faces_data: Path, analyzer, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test installs it: apt-get install chromium)")
    signup_camera = camera_file(faces_data, range(1, 8), tmp_path / "signup.y4m")
    live_camera = camera_file(faces_data, [8], tmp_path / "live.y4m", frames_each=20)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, signup_camera)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.goto(f"{signup_server}/")
        page.click("text=Sign up")
        page.fill("#id_first_name", "Ann Lee")
        page.fill("#id_username", "annlee")
        page.fill("#id_email", "ann@example.test")
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.screenshot(path=str(tmp_path / "signup.png"), full_page=True)
        page.check("#id_consent")
        page.click("button[type=submit]")
        page.wait_for_url(f"{signup_server}/accounts/capture/")
        page.click("#start")
        page.wait_for_function("() => window.faceCapture.state().count >= 3", timeout=60_000)
        page.screenshot(path=str(tmp_path / "capture.png"), full_page=True)
        page.wait_for_url(f"{signup_server}/accounts/profile/", timeout=90_000)
        profile_text = page.locator("main").inner_text()
        assert "annlee" in page.locator("header").inner_text()  # logged in
        assert "Ann Lee" in profile_text and "member" in profile_text
        assert page.locator(".photo.status-enrolled").count() >= 4
        # every thumbnail loads (through the permission-checked view)
        thumbs_loaded = "() => [...document.querySelectorAll('.photo img')].every(i => i.naturalWidth > 0)"
        page.wait_for_function(thumbs_loaded, timeout=15_000)  # lazy images: loaded, and not broken
        page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)
        cookies = context.cookies()
        browser.close()

        browser = launch(playwright, live_camera)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(f"{signup_server}/live/")
        page.click("#start")
        page.wait_for_function(
            "() => window.faceLive.tracks().some(t => t.confirmed && t.name === 'Ann Lee')", timeout=45_000
        )
        page.screenshot(path=str(tmp_path / "live.png"))
        browser.close()

    user = get_user_model().objects.get(username="annlee")
    assert user.check_password(PASSWORD) and Consent.objects.get(user=user).active
    person = Person.objects.get(user=user)
    batch = Enrollment.objects.get(started_by=user)
    assert batch.source == "signup" and batch.state == Enrollment.State.DONE
    enrolled = FaceImage.objects.filter(person=person, status=FaceImage.Status.ENROLLED)
    assert enrolled.count() >= 4
    assert FaceEmbedding.objects.filter(person=person).count() == enrolled.count()
    assert all(Path(image.file.path).exists() for image in enrolled)


@pytest.mark.browser
@pytest.mark.parametrize("signup_server", ["liveness"], indirect=True)
def test_with_liveness_required_photos_in_front_of_the_camera_are_not_kept(
    signup_server: str, faces_data: Path, analyzer, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test installs it: apt-get install chromium)")
    camera = camera_file(faces_data, range(1, 8), tmp_path / "signup.y4m")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, camera)
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(f"{signup_server}/accounts/signup/")
        page.fill("#id_first_name", "Eve Mallory")
        page.fill("#id_username", "eve")
        page.fill("#id_email", "eve@example.test")
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.check("#id_consent")
        page.click("button[type=submit]")
        page.wait_for_url(f"{signup_server}/accounts/capture/")
        assert page.locator("#liveness-hint").is_visible()
        page.click("#start")
        page.wait_for_function("() => window.faceCapture.state().challenge !== null", timeout=30_000)
        words = ("Turn your head", "Tilt your chin", "Look straight")
        page.wait_for_function(f"() => {list(words)!r}.some(w => document.querySelector('#instruction')"
                               ".textContent.startsWith(w))", timeout=30_000)  # fmt: skip
        page.wait_for_timeout(8_000)  # the camera shows all seven photos
        state = page.evaluate("() => window.faceCapture.state()")
        page.screenshot(path=str(tmp_path / "capture-liveness.png"), full_page=True)
        browser.close()
    assert state["count"] == 0 and state["challenge"] is not None  # no photo kept, still in the challenge
    assert not Enrollment.objects.exists() and not FaceImage.objects.exists()

