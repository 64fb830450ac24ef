"""Browser walk-through of issue 17: staff create a group and a shift in the admin and assign it, people check in
late and on time, the dashboard changes live, a missed check-out is corrected, and the month's XLSX has it.

Events are recorded with the attendance service as a camera would record them (the kiosk and camera workers
are another worktree's); everything else goes through the pages."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from attendance.services import record_presence
from tests.attendance.factories import BOX, frame

# The README's screenshot is remade with UPDATE_DOCS_SCREENSHOT=1; otherwise it goes to the test's tmp dir.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def in_thread(fn):
    """Run ORM work outside Playwright's event loop (sync ORM calls are refused inside it)."""

    def run():
        try:
            return fn()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.mark.browser
@pytest.mark.services
def test_operator_day_with_groups_shifts_dashboard_correction_and_xlsx(
    redis_daphne_server: str,
    people,
    request,
    tmp_path: Path,
) -> None:
    now = timezone.now()
    start = (now - timedelta(hours=1)).replace(second=0, microsecond=0)
    if start.date() != now.date():
        pytest.skip("too close to midnight UTC: the scripted shift would have started yesterday")
    people["staff"].is_superuser = True  # the admin pages need model permissions
    people["staff"].save(update_fields=["is_superuser"])
    staff_client = Client()
    staff_client.force_login(people["staff"])
    session = staff_client.cookies["sessionid"].value
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    browser = request.getfixturevalue("browser")
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": session, "url": redis_daphne_server}])
    page = context.new_page()
    base = redis_daphne_server

    # 1. a shift that started an hour ago, 5 minutes' grace
    page.goto(f"{base}/admin/attendance/shifttype/add/")
    page.fill("#id_name", "Early")
    page.fill("#id_start", start.strftime("%H:%M"))
    page.fill("#id_end", (start + timedelta(hours=8)).strftime("%H:%M"))
    page.fill("#id_time_zone", "UTC")
    page.fill("#id_late_grace_min", "5")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/attendance/shifttype/")

    # 2. a group with three members
    page.goto(f"{base}/admin/attendance/attendancegroup/add/")
    page.fill("#id_name", "Warehouse")
    page.select_option("#id_kind", "department")
    page.select_option("#id_members_from", [str(alice.pk), str(bob.pk), str(carol.pk)])
    page.click("#id_members_add")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/attendance/attendancegroup/")

    # 3. the shift assigned to the group, every day of the week, from today
    page.goto(f"{base}/admin/attendance/shiftassignment/add/")
    page.select_option("#id_shift", label=f"Early ({start:%H:%M}-{start + timedelta(hours=8):%H:%M} UTC)")
    page.select_option("#id_group", label="Warehouse")
    page.fill("#id_first_day", now.date().isoformat())
    for day in range(7):
        page.check(f"input[name=days][value='{day}']")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/attendance/shiftassignment/")

    # 4. the dashboard: nobody came yet, all three absent (the grace is over)
    page.goto(f"{base}/")
    page.wait_for_function("document.getElementById('live-state').textContent === 'connected'", timeout=20_000)
    assert page.locator("#tile-absent .figure").inner_text() == "3"

    # 5. Bob checked in on time, Alice 25 minutes late: the board changes without a reload
    def arrive(person, minutes_after_start):
        at = start + timedelta(minutes=minutes_after_start)
        return record_presence(person_id=person.pk, source="camera", score=0.7, margin=0.2, frame_bgr=frame(),
                               box=BOX, stream="camera/door", at=at)  # fmt: skip

    in_thread(lambda: arrive(bob, -3))
    in_thread(lambda: arrive(alice, 25))
    page.wait_for_function("document.getElementById('late-list').textContent.includes('Alice Archer')",
                           timeout=20_000)  # fmt: skip
    assert "25 min" in page.locator("#late-list").inner_text()
    assert page.locator("#tile-absent .figure").inner_text() == "1"  # Carol
    assert page.locator("#tile-present .figure").inner_text() == "2"
    assert page.locator(".chart g.day").count() == 14
    shot = DOCS_SCREENSHOT if os.environ.get("UPDATE_DOCS_SCREENSHOT") else tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1100, "height": 760})
    assert shot.stat().st_size > 10_000

    # 6. Bob forgot to check out at the end of the shift: the operator adds it, with a reason
    page.goto(f"{base}/attendance/corrections/")
    form = page.locator("#correction-add")
    form.locator("select[name=person]").select_option(label="Bob Baker")
    form.locator("select[name=event_kind]").select_option("check_out")
    form.locator("input[name=at]").fill((start + timedelta(hours=8, minutes=2)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=reason]").fill("exit camera was down")
    form.locator("button[type=submit]").click()
    assert "Correction applied." in page.locator("ul.messages").inner_text()
    assert "exit camera was down" in page.locator("#corrections-decided").inner_text()

    # 7. the month's report and its XLSX
    page.goto(f"{base}/attendance/reports/?period=month")
    late_row = page.locator(f'#report-days tr[data-person="{alice.pk}"][data-day="{now.date().isoformat()}"]')
    assert "late" in late_row.inner_text()
    with page.expect_download() as download:
        page.click("#download-xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    totals = {row[1]: row for row in book["Totals"].values}
    header = list(totals["person"])
    assert totals["Alice Archer"][header.index("late_days")] == 1
    assert totals["Alice Archer"][header.index("late_min")] == 25
    assert totals["Bob Baker"][header.index("worked_h")] == pytest.approx(8.08, abs=0.02)  # 07:57 -> 16:02
    assert totals["Bob Baker"][header.index("missing_check_outs")] == 0
    context.close()
