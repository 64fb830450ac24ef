"""One browser test: an operator's "attendance today" page shows a new event live, with its face crop."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from attendance.services import record_presence
from tests.attendance.factories import BOX, frame
from tests.conftest import REPO, free_port, service_env, stop_process, test_database_url, wait_for_port


@pytest.fixture
def attendance_server(transactional_db, redis_url: str, settings, tmp_path: Path):
    """daphne on the test database; this process and daphne share a Redis channel
    layer, so an event recorded here reaches the page's websocket there."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    port = free_port()
    log_path = tmp_path / "daphne.log"
    with log_path.open("w") as log_file:
        env = service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url,
                          FACESITE_MEDIA_ROOT=str(settings.MEDIA_ROOT))  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
             "facesite.asgi:application"],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port, process)
        except (RuntimeError, TimeoutError):
            raise RuntimeError(log_path.read_text()[-3000:]) from None
        yield f"http://127.0.0.1:{port}"
        stop_process(process)


@pytest.mark.browser
@pytest.mark.services
def test_today_page_updates_live(attendance_server: str, people, request) -> None:
    operator_client = Client()
    operator_client.force_login(people["operator"])
    session = operator_client.cookies["sessionid"].value
    alice = people["alice"]
    browser = request.getfixturevalue("browser")  # after the ORM calls: Playwright's loop blocks sync ORM use
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": session, "url": attendance_server}])
    page = context.new_page()
    page.goto(f"{attendance_server}/attendance/")
    page.wait_for_function(
        "document.getElementById('live-state').textContent === 'connected'", timeout=20_000
    )
    assert page.locator("#today-events tr.empty").count() == 1

    def record():  # in a thread of its own: no event loop there, so the ORM may run
        try:
            return record_presence(
                person_id=alice.pk, source="kiosk", score=0.66, margin=0.2, frame_bgr=frame(), box=BOX,
                stream="browser/track-1", at=timezone.now(),
            )  # fmt: skip
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        event = pool.submit(record).result()

    row = page.locator(f'#today-events tr[data-event-id="{event.pk}"]')
    row.wait_for(timeout=20_000)
    assert "Alice Archer" in row.inner_text() and "check-in" in row.inner_text()
    summary = page.locator(f'#today-summaries tr[data-person-id="{alice.pk}"]')
    assert summary.locator(".status").inner_text() == "in"
    assert page.locator("#people-count").inner_text() == "1"
    crop = row.locator("img.evidence")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=crop.element_handle(), timeout=10_000
    )
    context.close()
