"""`manage.py calibrate` and the staff calibration page on a small gallery enrolled from real photos."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recognition.models import CalibrationRun, PackSettings
from recognition.services import calibration
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


def test_calibration_page_queues_a_run_shows_it_and_applies_its_threshold(
    client, django_user_model, gallery, django_capture_on_commit_callbacks, monkeypatch
):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("calibrator", password="pw-123-calib", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_threshold"))  # its own permission
    member = django_user_model.objects.create_user("plain", password="pw-123-plain")
    client.force_login(member)
    assert client.get("/recognition/calibration/").status_code == 302  # to the admin login
    client.force_login(staff)
    page = client.get("/recognition/calibration/?pack=arcface&target_far=1e-05")
    assert page.status_code == 200 and "No calibration of the arcface pack" in page.content.decode()
    assert not CalibrationRun.objects.exists()  # a GET never computes
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly once the request commits
        response = client.post("/recognition/calibration/", {"pack": "arcface", "target_far": "1e-05"})
    assert response.status_code == 302
    run = CalibrationRun.objects.get()
    assert (run.status, run.requested_by, run.sample_size, run.gallery_size) == ("done", staff, 7, 7)
    monkeypatch.setattr(calibration, "calibrate_arrays", lambda *a, **k: pytest.fail("the page recomputed"))
    html = client.get("/recognition/calibration/?pack=arcface&target_far=1e-05").content.decode()
    assert "<svg" in html and 'class="genuine"' in html and 'class="impostor"' in html
    assert 'class="threshold-current"' in html and 'class="threshold-proposed"' in html
    proposed = float(re.search(r"Apply the proposed threshold \(([0-9.]+)\)", html).group(1))
    assert proposed == pytest.approx(run.proposed_threshold, abs=1e-4)
    assert f'name="run" value="{run.pk}"' in html
    response = client.post("/recognition/calibration/", {"pack": "arcface", "target_far": "1e-05", "run": run.pk})
    assert response.status_code == 302
    row = PackSettings.objects.get(pack="arcface")
    assert row.threshold == run.proposed_threshold and row.updated_by == staff
    assert CalibrationRun.objects.count() == 1  # applying computed nothing


def test_apply_takes_the_threshold_of_the_run_shown_never_a_new_one(gallery, monkeypatch):
    run = calibration.request_calibration("arcface", queue=False)
    calibration.run_calibration(run.pk)
    CalibrationRun.objects.filter(pk=run.pk).update(proposed_threshold=0.4242)  # what the page showed
    monkeypatch.setattr(calibration, "calibrate_arrays", lambda *a, **k: pytest.fail("apply recomputed"))
    calibration.apply_calibration(run.pk)
    assert PackSettings.objects.get(pack="arcface").threshold == 0.4242
    assert CalibrationRun.objects.get(pk=run.pk).applied_at is not None


def test_a_run_calibrates_a_bounded_sample_and_runs_once(gallery, settings):
    settings.CALIBRATION_SAMPLE = 5
    run = calibration.request_calibration("arcface", queue=False)
    run = calibration.run_calibration(run.pk)
    assert (run.status, run.gallery_size, run.sample_size, run.people) == ("done", 7, 5, 3)
    assert sum(run.histogram["genuine"]) == run.figures["genuine_scores"] > 0
    assert sum(run.histogram["impostor"]) == run.figures["impostor_scores"] > 0
    assert run.seconds is not None and run.seconds >= 0
    finished = run.finished_at
    assert calibration.run_calibration(run.pk).finished_at == finished  # delivered twice: left alone


def test_an_empty_gallery_gives_a_run_with_nothing_to_apply():
    run = calibration.run_calibration(calibration.request_calibration("arcface", queue=False).pk)
    assert run.status == "done" and not run.enough and run.proposed_threshold is None
    with pytest.raises(calibration.NotCalibrated):
        calibration.apply_calibration(run.pk)
    queued = calibration.request_calibration("arcface", queue=False)
    with pytest.raises(calibration.NotCalibrated):
        calibration.apply_calibration(queued.pk)


def test_a_failing_run_is_stored_as_failed(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(calibration, "gallery_sample", broken)
    run = calibration.run_calibration(calibration.request_calibration("arcface", queue=False).pk)
    assert run.status == "failed" and "out of memory" in run.error and run.finished_at is not None
