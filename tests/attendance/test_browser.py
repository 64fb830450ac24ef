"""One browser test: an operator's "attendance today" page shows a new event live, with its face crop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from attendance.services import record_presence
from tests.attendance.factories import BOX, frame


@pytest.mark.browser
@pytest.mark.services
def test_today_page_updates_live(redis_daphne_server: str, people, request) -> None:
    operator_client = Client()
    operator_client.force_login(people["operator"])
    session = operator_client.cookies["sessionid"].value
    alice = people["alice"]
    browser = request.getfixturevalue("browser")  # after the ORM calls: Playwright's loop blocks sync ORM use
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": session, "url": redis_daphne_server}])
    page = context.new_page()
    page.goto(f"{redis_daphne_server}/attendance/")
    page.wait_for_function("document.getElementById('live-state').textContent === 'connected'", timeout=20_000)
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
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=crop.element_handle(), timeout=10_000)
    context.close()
