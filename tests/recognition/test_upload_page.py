"""The admin's dataset upload: the upload page, a batch's page and progress JSON, the staff-only image view.

Real photos from ../shared/data/faces; Celery tasks run eagerly in the test process (no REDIS_URL), after the
request's commit (django_capture_on_commit_callbacks), as they would in a worker.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from recognition.models import Enrollment, FaceEmbedding, FaceImage, Person
from tests.support.users import PASSWORD, make_user, session_client

UPLOAD = "/recognition/upload/"


def build_dataset(faces_data: Path, root: Path) -> Path:
    """root/person/… like the original project's dataset: 2 people x 3 real photos, a text file, a file of
    random bytes named .jpg, a truncated JPEG, and a photo without a face."""
    identities = faces_data / "identities"
    people = {
        "John_Salley": identities / "dlib_John_Salley",
        "Kit_Harington": identities / "facerec_kit_harington",
    }
    for name, source in people.items():
        (root / name).mkdir(parents=True)
        for photo in sorted(source.iterdir())[:3]:
            shutil.copy(photo, root / name / photo.name)
    jpeg = (identities / "dlib_John_Savage" / "1.jpg").read_bytes()
    (root / "John_Salley" / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (root / "John_Salley" / "random.jpg").write_bytes(bytes(range(256)) * 8)
    (root / "Kit_Harington" / "notes.txt").write_text("not a photo")
    shutil.copy(
        faces_data / "misc" / "skimage_lfw_subset" / "nonfaces" / "100.png",
        root / "Kit_Harington" / "wall.png",
    )
    return root


@pytest.fixture
def dataset(faces_data: Path, tmp_path: Path) -> Path:
    return build_dataset(faces_data, tmp_path / "dataset")


def folder_post(root: Path) -> dict:
    """What the page's script sends for a picked folder: the files (bare names, as multipart keeps them) and
    their webkitRelativePath values, in the same order, as JSON."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {
        "folder": [SimpleUploadedFile(p.name, p.read_bytes()) for p in files],
        "paths": json.dumps([f"{root.name}/{p.relative_to(root).as_posix()}" for p in files]),
    }


def test_staff_uploads_a_dataset_folder_and_the_batch_reports_every_file(
    staff, staff_client, dataset, media, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(UPLOAD, folder_post(dataset))
    batch = Enrollment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("recognition:batch", args=[batch.pk])
    assert (batch.source, batch.started_by, batch.state) == ("upload", staff, Enrollment.State.DONE)

    progress = staff_client.get(reverse("recognition:batch_progress", args=[batch.pk]))
    assert progress["Cache-Control"] == "private, no-store"
    body = progress.json()
    counts = {k: body[k] for k in ("total", "enrolled", "rejected", "pending", "processed", "percent")}
    assert counts == {"total": 8, "enrolled": 6, "rejected": 2, "pending": 0, "processed": 8, "percent": 100}
    assert body["finished"] is True and body["state"] == "done"
    refused = {e["file"]: e["error"] for e in body["errors"]}
    assert refused == {
        "Kit_Harington/notes.txt": "not an image file (by its extension)",
        "random.jpg": "not an image this platform can read",  # the service names intake refusals by file name
    }
    reasons = {r["file"]: r["reason"] for r in body["rejected_images"]}
    assert reasons["wall.png"] == "no face found"
    assert reasons["truncated.jpg"].startswith("corrupt or truncated image data")

    people = {p.display_name: p for p in Person.objects.all()}
    assert sorted(people) == ["John Salley", "Kit Harington"]
    for person in people.values():
        assert person.images.filter(status=FaceImage.Status.ENROLLED).count() == 3
        assert FaceEmbedding.objects.filter(person=person).count() == 3
    stored = [image.file.path for image in FaceImage.objects.all()]
    assert all(Path(p).is_file() and Path(p).is_relative_to(media) for p in stored)

    page = staff_client.get(reverse("recognition:batch", args=[batch.pk])).content.decode()
    for text in (
        "no face found",
        "corrupt or truncated image data",
        "notes.txt",
        "not an image this platform can read",
        'value="100"',
        "/recognition/images/",
    ):
        assert text in page
    assert "/media/" not in page


def test_known_names_add_images_and_a_flat_folder_can_go_to_a_chosen_person(
    staff_client, faces_data, tmp_path, media, django_capture_on_commit_callbacks
) -> None:
    kit = faces_data / "identities" / "facerec_kit_harington"
    first = tmp_path / "first" / "Kit_Harington"
    first.mkdir(parents=True)
    shutil.copy(kit / "1.jpeg", first)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(UPLOAD, folder_post(first.parent))
    person = Person.objects.get()
    assert person.display_name == "Kit Harington"

    flat = tmp_path / "holiday_photos"  # picked on its own: its name is not the person's
    flat.mkdir()
    shutil.copy(kit / "1.jpeg", flat)  # the same bytes again: a duplicate, not a second copy
    shutil.copy(kit / "2.jpeg", flat)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(UPLOAD, {**folder_post(flat), "person": person.pk})
    assert response.status_code == 302
    assert list(Person.objects.values_list("display_name", flat=True)) == ["Kit Harington"]
    assert person.images.filter(status=FaceImage.Status.ENROLLED).count() == 2
    assert Enrollment.objects.latest("pk").duplicates == 1


def test_zip_upload_refuses_parent_paths_and_keeps_the_other_members(
    staff_client, faces_data, tmp_path, media, django_capture_on_commit_callbacks
) -> None:
    photo = (faces_data / "identities" / "dlib_John_Simm" / "1.jpg").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("John_Simm/1.jpg", photo)
        archive.writestr("../escaped/1.jpg", photo)
        archive.writestr("John_Simm/../../escaped/2.jpg", photo)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(UPLOAD, {"archive": SimpleUploadedFile("set.zip", buffer.getvalue())})
    assert response.status_code == 302
    batch = Enrollment.objects.get()
    assert {e["file"]: e["error"] for e in batch.errors} == {
        "../escaped/1.jpg": "path with '..' refused",
        "John_Simm/../../escaped/2.jpg": "path with '..' refused",
    }
    image = FaceImage.objects.get()
    assert (image.person.display_name, image.status) == ("John Simm", FaceImage.Status.ENROLLED)
    assert not list(tmp_path.rglob("escaped"))


def test_an_upload_refused_as_a_whole_is_a_form_error_and_starts_no_batch(staff_client, media) -> None:
    response = staff_client.post(UPLOAD, {"archive": SimpleUploadedFile("set.zip", b"this is not a zip")})
    assert response.status_code == 400
    assert "not a readable zip file" in response.content.decode()
    as_json = staff_client.post(
        UPLOAD,
        {"archive": SimpleUploadedFile("set.zip", b"this is not a zip")},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 400
    assert as_json.json()["errors"][0].startswith("not a readable zip file")
    nothing = staff_client.post(UPLOAD, {})
    assert nothing.status_code == 400
    assert "Choose a folder or a zip file" in nothing.content.decode()
    assert not Enrollment.objects.exists()


def test_the_upload_page_is_for_staff_only(client, member_client, staff_client, db) -> None:
    page = staff_client.get(UPLOAD)
    assert page.status_code == 200
    html = page.content.decode()
    assert "webkitdirectory" in html and 'name="archive"' in html and "csrfmiddlewaretoken" in html

    anonymous = client.get(UPLOAD)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert member_client.get(UPLOAD).status_code == 403
    assert member_client.post(UPLOAD, {"archive": SimpleUploadedFile("a.zip", b"x")}).status_code == 403
    batch = Enrollment.objects.create(source="upload")
    assert member_client.get(reverse("recognition:batch", args=[batch.pk])).status_code == 403
    assert member_client.get(reverse("recognition:batch_progress", args=[batch.pk])).status_code == 403
    assert client.get(reverse("recognition:batch_progress", args=[batch.pk])).status_code == 302
    assert not Enrollment.objects.exclude(pk=batch.pk).exists()


def test_the_upload_form_checks_csrf(staff, media) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(UPLOAD, {"archive": SimpleUploadedFile("a.zip", b"x")}).status_code == 403


def test_face_images_are_served_to_staff_only_and_never_cached(
    staff, staff_client, member_client, client, dataset, media, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(UPLOAD, folder_post(dataset))
    image = FaceImage.objects.filter(status=FaceImage.Status.ENROLLED, original_name="1.jpeg").get()
    url = reverse("recognition:face_image", args=[image.pk])

    response = staff_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    with image.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()

    thumb = staff_client.get(url + "?thumb=1")
    assert thumb["Cache-Control"] == "private, no-store"
    small = Image.open(io.BytesIO(thumb.content))
    assert small.format == "JPEG" and max(small.size) <= 96

    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert member_client.get(url).status_code == 403
    clerk = session_client(make_user("clerk", staff=True))  # staff without the recognition permissions
    assert clerk.get(url).status_code == 403
    assert staff_client.get(reverse("recognition:face_image", args=[image.pk + 10_000])).status_code == 404

    from recognition.services.lifecycle import purge_images

    with django_capture_on_commit_callbacks(execute=True):
        purge_images([image])
    assert staff_client.get(url).status_code == 404


@pytest.mark.browser
@pytest.mark.services
def test_a_folder_uploaded_in_the_browser_shows_live_progress(
    request, faces_data, tmp_path, monkeypatch, transactional_db
) -> None:
    """Chromium picks a dataset folder; a real Celery worker (Redis) enrolls it while the page polls."""
    media = tmp_path / "media"
    monkeypatch.setenv("FACESITE_MEDIA_ROOT", str(media))  # for the worker and daphne subprocesses
    monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
    request.getfixturevalue("celery_worker_process")
    base = request.getfixturevalue("daphne_server")
    dataset = build_dataset(faces_data, tmp_path / "dataset")
    make_user("boss", superuser=True, password=PASSWORD)
    browser = request.getfixturevalue("browser")  # after the ORM calls: Playwright's loop blocks the sync ORM
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/admin/login/?next={UPLOAD}")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{UPLOAD}")

    page.set_input_files("#id_folder", str(dataset))
    page.wait_for_function("document.getElementById('folder-summary').textContent.includes('2 people')")
    assert "10 files" in page.inner_text("#folder-summary")
    page.click("#upload-submit")
    page.wait_for_url(f"{base}/recognition/batches/*/", timeout=30_000)
    page.wait_for_function("document.getElementById('batch-percent').textContent === '100%'", timeout=60_000)
    page.wait_for_function("document.getElementById('batch-state').textContent === 'done'", timeout=30_000)
    assert page.inner_text("#count-enrolled") == "6"
    assert page.inner_text("#count-rejected") == "2"
    assert page.inner_text("#count-refused") == "2"
    assert "no face found" in page.inner_text("#rejected-images")
    assert "notes.txt" in page.inner_text("#refused-files")
    page.screenshot(path=str(Path("/tmp/recognition_batch_page.png")), full_page=True)

    page.goto(f"{base}/admin/recognition/person/")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.face-thumb')).filter(i => i.complete && i.naturalWidth).length >= 6"
    )
    assert page.locator("#result_list tbody tr").count() == 2
    page.screenshot(path=str(Path("/tmp/recognition_admin_people.png")), full_page=True)
    # the face-image list fits a 1280 px screen: no sideways scrolling, every column's header in view
    page.goto(f"{base}/admin/recognition/faceimage/")
    assert page.locator("#result_list tbody tr").count() == 8
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    right = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#result_list th')).map(t => "
                          "t.getBoundingClientRect().right))")  # fmt: skip
    assert right <= 1280
    page.close()
    assert len(list(media.rglob("*.*"))) == 8  # the images taken in, all under the media root given
