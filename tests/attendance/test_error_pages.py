"""Styled error pages and the favicon (issue 17's small things)."""

from __future__ import annotations

from django.test import Client, RequestFactory
from django.views.defaults import server_error

from tests.attendance.factories import make_user


def test_404_and_403_are_styled_pages(db):
    member = make_user("mia")
    client = Client()
    client.force_login(member)
    missing = client.get("/attendance/no-such-page/")
    assert missing.status_code == 404
    assert "404 · Not found" in missing.content.decode() and "favicon.svg" in missing.content.decode()
    refused = client.get("/recognition/upload/")  # staff only
    assert refused.status_code == 403
    assert "403 · Not allowed" in refused.content.decode() and "Back to the home page" in refused.content.decode()


def test_500_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "500 · Something went wrong" in response.content.decode()


def test_favicon_is_served_and_linked(db):
    client = Client()
    assert 'rel="icon"' in client.get("/").content.decode()


def test_an_ordinary_403_logs_one_line_without_a_traceback(db, caplog):
    client = Client()
    client.force_login(make_user("max"))
    with caplog.at_level("WARNING", logger="django.request"):
        assert client.get("/recognition/upload/").status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request" and getattr(r, "status_code", 0) == 403]
    assert forbidden and all(r.exc_info is None for r in forbidden)
    assert "Traceback" not in caplog.text
