"""Pages in a real browser (headless Chromium via Playwright) against daphne."""

import pytest
from django.contrib.auth import get_user_model


@pytest.mark.browser
def test_admin_login_page_loads_and_an_admin_can_log_in(daphne_server: str, request) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.test", "a-long-test-password")
    browser = request.getfixturevalue("browser")  # after the ORM call: Playwright's loop blocks sync ORM use
    page = browser.new_page()
    page.goto(f"{daphne_server}/admin/login/")
    assert "Facesite" in page.title()
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{daphne_server}/admin/")
    assert page.locator("#site-name").inner_text() == "Facesite administration"
    assert "models: arcface" in page.locator("#user-tools").inner_text().lower()
    # static files are served (the admin's stylesheet loads)
    response = page.request.get(f"{daphne_server}/static/admin/css/base.css")
    assert response.status == 200
    page.close()


@pytest.mark.django_db
def test_health_endpoint_reports_database_and_pack(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["model_pack"]["name"] in {"arcface", "open"}
