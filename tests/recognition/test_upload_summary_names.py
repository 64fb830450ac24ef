"""The upload page's folder summary names people as they will be stored (underscores as spaces, one person per
stored name), as recognition.uploads.clean_person_name makes them."""

from __future__ import annotations

import pytest

from recognition.uploads import clean_person_name
from tests.support.users import make_user, session_client


@pytest.mark.browser
@pytest.mark.services
def test_folder_summary_shows_stored_names(request, tmp_path, transactional_db) -> None:
    dataset = tmp_path / "dataset"
    for folder in ("ann_lee", "Bob__Baker", "ann lee"):
        (dataset / folder).mkdir(parents=True)
        (dataset / folder / "1.jpg").write_bytes(b"not really a jpeg")
    client = session_client(make_user("boss", superuser=True))
    session = client.cookies["sessionid"].value
    base = request.getfixturevalue("daphne_server")
    browser = request.getfixturevalue("browser")
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/recognition/upload/")
    page.set_input_files("#id_folder", str(dataset))
    page.wait_for_function("document.getElementById('folder-summary').textContent.includes('files')")
    summary = page.inner_text("#folder-summary")
    assert "3 files, 2 people" in summary
    assert clean_person_name("Bob__Baker") in summary and clean_person_name("ann_lee") in summary
    assert "_" not in summary
    context.close()
