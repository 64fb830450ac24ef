"""`manage.py calibrate` and the staff calibration page on a small gallery enrolled from real photos."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recognition.models import PackSettings
from tests.matching.gallery import enroll_gallery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_and_urls(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def gallery(faces_data):
    return enroll_gallery(faces_data)


def test_calibrate_prints_the_figures_and_a_proposal(gallery):
    out = StringIO()
    call_command("calibrate", stdout=out)
    text = out.getvalue()
    assert "pack arcface (arcface_mbf): 3 people, 7 enrolled images, 7 probes" in text
    # Obama and Salley have 3 images each: 6 probes with a genuine score; 7 probes x 2 other people impostors
    assert "genuine scores 6, impostor scores 14" in text
    assert re.search(r"EER 0\.00% at threshold 0\.\d+", text)
    assert "TAR at FAR 1e-02: n/a (needs >= 100 impostor scores)" in text
    proposed = float(re.search(r"proposed threshold for FAR 1e-05: ([0-9.]+) \(extrapolated", text).group(1))
    assert 0.0 < proposed < 1.0
    assert "current threshold: 0.3200" in text


def test_calibrate_apply_stores_the_proposal(gallery):
    out = StringIO()
    call_command("calibrate", "--apply", "--target-far", "1e-3", "--json", stdout=out)
    figures, end = json.JSONDecoder().raw_decode(out.getvalue())
    assert "threshold of arcface set to" in out.getvalue()[end:]
    assert figures["people"] == 3 and figures["genuine_scores"] == 6
    assert PackSettings.objects.get(pack="arcface").threshold == pytest.approx(figures["proposed_threshold"])
    # 14 impostor scores cannot measure 1e-3: extrapolated, and no impostor of the gallery is accepted
    assert figures["resolved"] is False and figures["far_at_proposed"] == 0.0


def test_calibrate_refuses_an_empty_gallery():
    with pytest.raises(CommandError, match="not enough enrolled data"):
        call_command("calibrate", stdout=StringIO())


def test_calibration_page_shows_the_histograms_and_applies_the_threshold(client, django_user_model, gallery):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("calibrator", password="pw-123-calib", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_threshold"))  # its own permission
    member = django_user_model.objects.create_user("plain", password="pw-123-plain")
    client.force_login(member)
    assert client.get("/recognition/calibration/").status_code == 302  # to the admin login
    client.force_login(staff)
    page = client.get("/recognition/calibration/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'class="genuine"' in html and 'class="impostor"' in html
    assert 'class="threshold-current"' in html and 'class="threshold-proposed"' in html
    proposed = float(re.search(r"Apply the proposed threshold \(([0-9.]+)\)", html).group(1))
    response = client.post("/recognition/calibration/", {"pack": "arcface", "target_far": "1e-05"})
    assert response.status_code == 302
    row = PackSettings.objects.get(pack="arcface")
    assert row.threshold == pytest.approx(proposed, abs=1e-4) and row.updated_by == staff
