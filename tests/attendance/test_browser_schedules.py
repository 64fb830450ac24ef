"""Browser walk-through of an operator's day: staff create groups and shifts in the admin and assign them,
register an IP camera there, the camera worker (`manage.py run_cameras`) plays the Hamilton clip so one
performer checks in late and the other on time, the dashboard changes live, a missed check-out is corrected,
and the month's XLSX has it all.

One arrival is from earlier in the day (Bob, on time, before the clip could play): it is recorded with the
attendance service, as the door camera recorded it then; everything else goes through the pages and the
camera worker."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from attendance.services import record_presence
from devices.models import Location
from tests.attendance.factories import BOX, frame
from tests.live.conftest import HAMILTON, hamilton_cast, live_analyzer  # noqa: F401 - fixtures
from tests.live.test_live_socket import enroll_cast
from tests.support.services import REPO, service_env, stop_process, test_database_url

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
def test_operator_day_with_groups_shifts_a_camera_dashboard_correction_and_xlsx(
    redis_daphne_server: str,
    people,
    faces_data,
    hamilton_cast,  # noqa: F811
    redis_url,
    request,
    tmp_path: Path,
) -> None:
    now = timezone.now()
    start = (now - timedelta(hours=1)).replace(second=0, microsecond=0)
    later = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    if start.date() != now.date() or (later + timedelta(hours=8)).date() != now.date():
        pytest.skip("too close to midnight UTC: a scripted shift would cross into another day")
    cast = enroll_cast(hamilton_cast)  # the clip's two performers, enrolled
    lin, alex = cast["lin_manuel_miranda"], cast["alex_lacamoire"]
    Location.objects.create(name="Stage door")
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

    # 1. two shifts, 5 minutes' grace: one started an hour ago, one starts in half an hour
    for name, begins in [("Early", start), ("Late", later)]:
        page.goto(f"{base}/admin/attendance/shifttype/add/")
        page.fill("#id_name", name)
        page.fill("#id_start", begins.strftime("%H:%M"))
        page.fill("#id_end", (begins + timedelta(hours=8)).strftime("%H:%M"))
        page.fill("#id_time_zone", "UTC")
        page.fill("#id_late_grace_min", "5")
        page.click("input[name=_save]")
        page.wait_for_url("**/admin/attendance/shifttype/")

    # 2. a group with four members (one of them on the stage)
    page.goto(f"{base}/admin/attendance/attendancegroup/add/")
    page.fill("#id_name", "Warehouse")
    page.select_option("#id_kind", "department")
    page.select_option("#id_members_from", [str(alice.pk), str(bob.pk), str(carol.pk), str(lin)])
    page.click("#id_members_add")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/attendance/attendancegroup/")

    # 3. Early for the group and Late for Alex alone, every day of the week, from today
    for shift, begins, field, who in [("Early", start, "#id_group", "Warehouse"),
                                      ("Late", later, "#id_person", "alex_lacamoire")]:  # fmt: skip
        page.goto(f"{base}/admin/attendance/shiftassignment/add/")
        page.select_option("#id_shift", label=f"{shift} ({begins:%H:%M}-{begins + timedelta(hours=8):%H:%M} UTC)")
        if field == "#id_person":  # an autocomplete (select2): type and pick, as a user does
            page.click("#id_person + .select2 .select2-selection")
            page.fill(".select2-search__field", who[:4])
            page.locator(".select2-results__option", has_text=who).click()
        else:
            page.select_option(field, label=who)
        page.fill("#id_first_day", now.date().isoformat())
        for day in range(7):
            page.check(f"input[name=days][value='{day}']")
        page.click("input[name=_save]")
        page.wait_for_url("**/admin/attendance/shiftassignment/")

    # 4. the dashboard: nobody came yet; the four of the Early shift absent (its grace is over), Alex's not started
    page.goto(f"{base}/")
    page.wait_for_function("document.getElementById('live-state').textContent === 'connected'", timeout=20_000)
    assert page.locator("#tile-absent .figure").inner_text() == "4"
    assert page.locator("#tile-upcoming .figure").inner_text() == "1"

    # 5. this morning the door camera saw Bob 3 minutes before the start, and Alice 25 minutes late
    def arrive(person, minutes_after_start):
        at = start + timedelta(minutes=minutes_after_start)
        return record_presence(person_id=person.pk, source="camera", score=0.7, margin=0.2, frame_bgr=frame(),
                               box=BOX, stream="camera/door", at=at)  # fmt: skip

    in_thread(lambda: arrive(bob, -3))
    in_thread(lambda: arrive(alice, 25))
    page.wait_for_function("document.getElementById('late-list').textContent.includes('Alice Archer')",
                           timeout=20_000)  # fmt: skip
    assert "25 min" in page.locator("#late-list").inner_text()
    assert page.locator("#tile-absent .figure").inner_text() == "2"  # Carol and Lin-Manuel

    # 6. an IP camera at the stage door, registered in the admin (a video file stands in for its RTSP URL:
    # tests/devices covers RTSP), and the camera worker started: the performers walk past it now
    page.goto(f"{base}/admin/devices/device/add/")
    page.fill("#id_name", "Stage camera")
    page.select_option("#id_location", label="Stage door")
    page.select_option("#id_kind", "camera")
    page.fill("#id_stream_url", str(faces_data / HAMILTON))
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/devices/device/")
    page.goto(f"{base}/")
    page.wait_for_function("document.getElementById('live-state').textContent === 'connected'", timeout=20_000)
    assert page.locator("#tile-devices .figure").inner_text() == "1"  # registered, never seen yet
    worker_log = tmp_path / "cameras.log"
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_cameras", "--lease", "10"], cwd=REPO,
        # every frame of the clip (Alex is in view for few of them; the default 10 fps would take every third)
        env=service_env(DATABASE_URL=test_database_url(), REDIS_URL=redis_url, CAMERA_MAX_FPS="30"),
        stdout=worker_log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # Lin-Manuel an hour late, Alex half an hour early for his shift: the board changes without a reload
        page.wait_for_function("document.getElementById('late-list').textContent.includes('lin_manuel_miranda')",
                               timeout=90_000)  # fmt: skip
        page.wait_for_function("document.querySelector('#tile-present .figure').textContent === '4'",
                               timeout=60_000)  # fmt: skip
    except Exception as exc:
        from attendance.models import AttendanceEvent

        events = in_thread(lambda: list(AttendanceEvent.objects.values_list("person__display_name", "kind", "at")))
        board = page.locator("#board").inner_text()
        log = worker_log.read_text()[-3000:]
        raise AssertionError(f"{exc}\n{events}\n{board}\ncamera worker's log:\n{log}") from None
    finally:
        stop_process(worker)
    late_min = int(page.locator("#late-list li", has_text="lin_manuel_miranda").inner_text().split()[-2])
    assert 59 <= late_min <= 65  # the clip played a minute or so after the dashboard loaded
    assert page.locator("#tile-absent .figure").inner_text() == "1"  # Carol
    assert page.locator("#tile-upcoming .figure").inner_text() == "0"  # Alex is in
    page.wait_for_function("document.querySelector('#tile-devices .figure').textContent === '0'", timeout=20_000)
    assert page.locator(".chart g.day").count() == 14
    shot = DOCS_SCREENSHOT if os.environ.get("UPDATE_DOCS_SCREENSHOT") else tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1100, "height": 760})
    assert shot.stat().st_size > 10_000

    # 7. Bob forgot to check out at the end of the shift: the operator adds it, with a reason
    page.goto(f"{base}/attendance/corrections/")
    form = page.locator("#correction-add")
    form.locator("select[name=person]").select_option(label="Bob Baker")
    form.locator("select[name=event_kind]").select_option("check_out")
    form.locator("input[name=at]").fill((start + timedelta(hours=8, minutes=2)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=reason]").fill("exit camera was down")
    form.locator("button[type=submit]").click()
    assert "Correction applied." in page.locator("ul.messages").inner_text()
    assert "exit camera was down" in page.locator("#corrections-decided").inner_text()

    # 8. the month's report and its XLSX
    page.goto(f"{base}/attendance/reports/?period=month")
    late_row = page.locator(f'#report-days tr[data-person="{alice.pk}"][data-day="{now.date().isoformat()}"]')
    assert "late" in late_row.inner_text()
    on_time = page.locator(f'#report-days tr[data-person="{alex}"][data-day="{now.date().isoformat()}"]')
    assert "present" in on_time.inner_text()
    with page.expect_download() as download:
        page.click("#download-xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    totals = {row[1]: row for row in book["Totals"].values}
    header = list(totals["person"])
    assert totals["Alice Archer"][header.index("late_days")] == 1
    assert totals["Alice Archer"][header.index("late_min")] == 25
    assert totals["Bob Baker"][header.index("worked_h")] == pytest.approx(8.08, abs=0.02)  # 07:57 -> 16:02
    assert totals["Bob Baker"][header.index("missing_check_outs")] == 0
    assert totals["lin_manuel_miranda"][header.index("late_days")] == 1
    assert totals["lin_manuel_miranda"][header.index("late_min")] == late_min
    assert totals["alex_lacamoire"][header.index("late_days")] == 0
    assert totals["alex_lacamoire"][header.index("present_days")] == 1
    context.close()
