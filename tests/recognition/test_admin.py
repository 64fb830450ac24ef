"""The admin of the identity domain: lists, the recycle bin, purge (files really leave MEDIA_ROOT), merge,
re-process, embeddings per model, batches and the re-embed hook. Real photos, eager Celery tasks."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEntry
from recognition.models import Enrollment, FaceEmbedding, FaceImage, PackSettings, Person
from recognition.services.enrollment import start_enrollment
from recognition.uploads import UploadItem

Status = FaceImage.Status


@pytest.fixture
def enroll(faces_data, media, django_capture_on_commit_callbacks):
    """enroll({"Name": "identities folder", ...}, n=2) -> the batch, processed (eager tasks after commit)."""

    def run(people: dict[str, str], n: int = 2) -> Enrollment:
        items = [
            UploadItem(name, photo.name, photo.read_bytes())
            for name, folder in people.items()
            for photo in sorted((faces_data / "identities" / folder).iterdir())[:n]
        ]
        with django_capture_on_commit_callbacks(execute=True):
            return start_enrollment(items, source="upload")

    return run


def changelist(model: str) -> str:
    return reverse(f"admin:recognition_{model}_changelist")


def act(client: Client, model: str, action: str, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}
    return client.post(changelist(model), data, follow=True)


def files_of(images) -> list[Path]:
    return [Path(image.file.path) for image in images]


def test_person_list_shows_counts_and_thumbnails_through_the_staff_view(staff_client, enroll) -> None:
    enroll({"John Salley": "dlib_John_Salley", "John Simm": "dlib_John_Simm"})
    response = staff_client.get(changelist("person"))
    assert response.status_code == 200
    html = response.content.decode()
    for image in FaceImage.objects.filter(status=Status.ENROLLED):
        assert f"/recognition/images/{image.pk}/?thumb=1" in html
    assert "/media/" not in html
    assert staff_client.get(changelist("person") + "?q=simm").context["cl"].result_count == 1
    person = Person.objects.get(display_name="John Salley")
    change = staff_client.get(reverse("admin:recognition_person_change", args=[person.pk])).content.decode()
    assert change.count('class="face-cell status-enrolled"') == 2


def test_deleting_a_person_in_the_admin_moves_them_to_the_recycle_bin_and_restore_brings_them_back(
    staff_client, enroll
) -> None:
    enroll({"John Salley": "dlib_John_Salley"})
    person = Person.objects.get()
    delete_url = reverse("admin:recognition_person_delete", args=[person.pk])
    assert "recycle bin" in staff_client.get(delete_url).content.decode()
    staff_client.post(delete_url, {"post": "yes"})
    person.refresh_from_db()
    assert person.deleted_at is not None
    images = list(person.images.all())
    assert {i.status for i in images} == {Status.DELETED}
    assert all(path.is_file() for path in files_of(images))  # files kept
    assert FaceEmbedding.objects.filter(person=person).count() == 2
    # one trail: the service's audit entry, shown on the History pages; the admin writes none of its own
    assert AuditEntry.objects.get(action=Action.RECYCLE, target_id=str(person.pk)).actor_name == "boss"
    assert not LogEntry.objects.exists()
    for page in (reverse("admin:recognition_person_history", args=[person.pk]),
                 reverse("admin:recognition_faceimage_history", args=[images[0].pk])):  # fmt: skip
        html = staff_client.get(page).content.decode()
        assert 'id="audit-history"' in html and "move to the recycle bin" in html, page

    act(staff_client, "person", "restore", [person])
    person.refresh_from_db()
    assert person.deleted_at is None
    assert set(person.images.values_list("status", flat=True)) == {Status.ENROLLED}


def test_purge_asks_first_then_removes_files_and_embeddings(
    staff_client, enroll, media, django_capture_on_commit_callbacks
) -> None:
    enroll({"John Salley": "dlib_John_Salley", "John Simm": "dlib_John_Simm"})
    salley, simm = (
        Person.objects.get(display_name="John Salley"),
        Person.objects.get(display_name="John Simm"),
    )
    salley_files = files_of(salley.images.all())

    confirm = act(staff_client, "person", "purge", [salley])
    assert confirm.status_code == 200
    assert "Yes, purge for good" in confirm.content.decode()
    assert all(path.is_file() for path in salley_files)  # nothing happened yet

    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "person", "purge", [salley], post="yes")
    assert not Person.objects.filter(pk=salley.pk).exists()
    assert not any(path.exists() for path in salley_files)
    assert not FaceEmbedding.objects.filter(person_id=salley.pk).exists()
    assert AuditEntry.objects.filter(action=Action.PURGE, target_id=str(salley.pk)).exists()
    assert not LogEntry.objects.exists()  # the audit log is the one trail
    assert simm.images.count() == 2 and all(path.is_file() for path in files_of(simm.images.all()))

    one = simm.images.first()
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "faceimage", "purge", [one], post="yes")
    assert not Path(one.file.path).exists()
    assert simm.images.count() == 1


def test_image_actions_recycle_bin_restore_and_reprocess(
    staff_client, enroll, settings, django_capture_on_commit_callbacks
) -> None:
    settings.ENROLL_MIN_FACE_PX = 10_000  # every face "too small": all rejected
    enroll({"John Simm": "dlib_John_Simm"})
    images = list(FaceImage.objects.all())
    assert {i.status for i in images} == {Status.REJECTED}
    assert all(i.reject_reason.startswith("face too small") for i in images)
    listing = staff_client.get(changelist("faceimage") + "?status__exact=rejected").content.decode()
    assert "face too small" in listing

    settings.ENROLL_MIN_FACE_PX = 40
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "faceimage", "reprocess", images)  # eager tasks: processed at once
    assert set(FaceImage.objects.values_list("status", flat=True)) == {Status.ENROLLED}
    assert Enrollment.objects.get().state == Enrollment.State.DONE

    act(staff_client, "faceimage", "move_to_recycle_bin", images[:1])
    assert FaceImage.objects.get(pk=images[0].pk).status == Status.DELETED
    staff_client.post(reverse("admin:recognition_faceimage_delete", args=[images[1].pk]), {"post": "yes"})
    assert FaceImage.objects.get(pk=images[1].pk).status == Status.DELETED  # admin delete = recycle bin
    act(staff_client, "faceimage", "restore", images)
    assert set(FaceImage.objects.values_list("status", flat=True)) == {Status.ENROLLED}


def test_merge_needs_exactly_two_and_asks_which_to_keep(staff_client, enroll) -> None:
    enroll({"John Simm": "dlib_John_Simm", "J. Simm": "dlib_John_Savage"})
    simm, alias = Person.objects.get(display_name="John Simm"), Person.objects.get(display_name="J. Simm")

    one = act(staff_client, "person", "merge", [simm])
    assert "Select exactly two people" in one.content.decode()
    page = act(staff_client, "person", "merge", [simm, alias])
    assert page.status_code == 200 and 'name="keep"' in page.content.decode()
    act(staff_client, "person", "merge", [simm, alias], post="yes", keep=str(simm.pk))
    assert not Person.objects.filter(pk=alias.pk).exists()
    assert simm.images.count() == 4
    assert FaceEmbedding.objects.filter(person=simm).count() == 4


def test_embeddings_are_read_only_with_counts_per_model(staff_client, enroll) -> None:
    enroll({"John Simm": "dlib_John_Simm", "John Salley": "dlib_John_Salley"})
    model = FaceEmbedding.objects.values_list("model_name", flat=True).first()
    response = staff_client.get(changelist("faceembedding"))
    html = response.content.decode()
    assert "Embeddings per model" in html
    assert f"<tr><td>{model}</td><td>4</td><td>2</td><td>4</td></tr>" in html
    embedding = FaceEmbedding.objects.first()
    change = staff_client.get(reverse("admin:recognition_faceembedding_change", args=[embedding.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert staff_client.post(reverse("admin:recognition_faceembedding_delete", args=[embedding.pk]),
                             {"post": "yes"}).status_code == 403  # fmt: skip


def test_batches_show_progress_and_errors_and_add_means_upload(staff_client, enroll) -> None:
    batch = enroll({"John Simm": "dlib_John_Simm"})
    batch.errors.append({"file": "x/readme.txt", "error": "not an image file (by its extension)"})
    batch.save()
    listing = staff_client.get(changelist("enrollment")).content.decode()
    assert 'class="batch-bar"' in listing and "100%" in listing
    assert reverse("recognition:upload") in listing
    detail = staff_client.get(reverse("admin:recognition_enrollment_change", args=[batch.pk])).content.decode()
    assert "x/readme.txt" in detail and "2 images: 2 enrolled" in detail
    add = staff_client.get(reverse("admin:recognition_enrollment_add"))
    assert add.status_code == 302 and add["Location"] == reverse("recognition:upload")
    index = staff_client.get(reverse("admin:app_list", args=["recognition"])).content.decode()
    assert reverse("recognition:upload") in index


def test_reembed_calls_the_reembed_service_or_says_it_is_missing(staff_client, staff, monkeypatch) -> None:
    pack, _ = PackSettings.objects.get_or_create(pack="open", defaults={"threshold": 0.3, "margin": 0.05})
    calls = []
    fake = types.ModuleType("recognition.services.reembed")
    fake.start_reembed = lambda pack, started_by: calls.append((pack, started_by)) or "job 7"
    monkeypatch.setitem(sys.modules, "recognition.services.reembed", fake)
    response = act(staff_client, "packsettings", "reembed", [pack])
    assert calls == [("open", staff)]
    assert "has started (job 7)" in response.content.decode()

    monkeypatch.setitem(sys.modules, "recognition.services.reembed", None)  # import now raises ImportError
    response = act(staff_client, "packsettings", "reembed", [pack])
    assert "Re-embedding is not available" in response.content.decode()
    assert len(calls) == 1
