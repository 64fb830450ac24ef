"""The audit log: every change to identities and biometric data writes one entry (who, what, on what, when),
entries can be neither changed nor deleted, and only admins see them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts
from attendance.services import purge_expired_evidence
from audit.models import Action, AppendOnly, AuditEntry
from audit.services import record
from recognition.models import FaceImage, PackSettings, Person
from recognition.services import calibration, lifecycle, reembed
from recognition.services.enrollment import reprocess_images, start_enrollment
from recognition.uploads import UploadItem
from tests.security.conftest import World, face_image, jpeg_bytes, make_user

pytestmark = pytest.mark.django_db


def only_entry(action: str) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, f"{len(entries)} {action} entries: {entries}"
    return entries[0]


def person_target(entry: AuditEntry, person_id: int) -> None:
    assert (entry.target_type, entry.target_id) == ("recognition.person", str(person_id))


def test_enroll(world: World) -> None:
    admin = world.users["admin"]
    batch = start_enrollment(
        [UploadItem("Ann Archer", "new.jpg", jpeg_bytes((1, 2, 3)))],
        source="upload",
        started_by=admin,
        person=world.person,
        queue=False,
    )
    entry = only_entry(Action.ENROLL)
    assert entry.actor == admin and entry.actor_name == "root"
    assert (entry.target_type, entry.target_id) == ("recognition.enrollment", str(batch.pk))
    assert entry.details["queued"] == 1 and entry.details["person"] == world.person.pk


def test_recycle_restore_purge_images(world: World) -> None:
    admin, member = world.users["admin"], world.users["member"]
    assert lifecycle.move_images_to_recycle_bin([world.image], actor=admin) == 1
    entry = only_entry(Action.RECYCLE)
    assert entry.actor == admin and entry.details["images"] == [world.image.pk]
    person_target(entry, world.person.pk)
    assert entry.target_label == "Ann Archer"

    assert lifecycle.restore_images([world.deleted_image], actor=member) == 1
    entry = only_entry(Action.RESTORE)
    assert entry.actor == member and entry.details["images"] == [world.deleted_image.pk]

    assert lifecycle.purge_images(FaceImage.objects.filter(pk=world.image.pk), actor=admin) == 1
    entry = only_entry(Action.PURGE)
    assert entry.actor == admin and entry.details == {"images": [world.image.pk], "count": 1}
    person_target(entry, world.person.pk)


def test_nothing_changed_writes_nothing(world: World) -> None:
    assert lifecycle.restore_images([world.image]) == 0  # not in the recycle bin
    assert not AuditEntry.objects.exists()


def test_person_recycle_restore_purge(world: World) -> None:
    admin, person = world.users["admin"], world.person
    lifecycle.move_person_to_recycle_bin(person, actor=admin)
    person_target(only_entry(Action.RECYCLE), person.pk)
    lifecycle.restore_person(person, actor=admin)
    entry = only_entry(Action.RESTORE)
    assert entry.details["person"] is True and entry.details["count"] == 2  # both images were in the bin
    pk = person.pk
    lifecycle.purge_person(person, actor=admin)
    entry = only_entry(Action.PURGE)  # one entry for the person, not one more for their images
    person_target(entry, pk)
    assert entry.actor == admin and entry.target_label == "Ann Archer" and entry.details["count"] == 2


def test_merge(world: World) -> None:
    admin = world.users["admin"]
    bob = Person.objects.get(slug="bob-baker")
    face_image(bob, world.batch, (10, 200, 10))
    moved = lifecycle.merge_people(bob, world.person, actor=admin)
    entry = only_entry(Action.MERGE)
    person_target(entry, world.person.pk)
    assert entry.actor == admin and entry.details["moved"] == moved == 1
    assert entry.details["merged_from"]["name"] == "Bob Baker"
    assert not AuditEntry.objects.exclude(action=Action.MERGE).exists()


def test_reprocess(world: World) -> None:
    FaceImage.objects.filter(pk=world.image.pk).update(
        status=FaceImage.Status.REJECTED, reject_reason="blurry"
    )
    assert reprocess_images(FaceImage.objects.all(), actor=world.users["admin"]) == 1
    entry = only_entry(Action.REPROCESS)
    person_target(entry, world.person.pk)
    assert entry.actor == world.users["admin"] and entry.details["images"] == [world.image.pk]


def test_reembed(world: World) -> None:
    reembed.start_reembed("open", started_by=world.users["admin"], threshold=0.4, margin=0.05)
    entry = only_entry(Action.REEMBED)
    assert entry.actor == world.users["admin"]
    assert (entry.target_type, entry.target_id) == ("recognition.packsettings", "open")
    assert entry.details["threshold"] == 0.4 and entry.details["margin"] == 0.05


def test_threshold_change_by_calibration_and_in_the_admin(world: World) -> None:
    admin = world.users["admin"]
    calibration.apply_threshold("arcface", 0.41, user=admin)
    entry = only_entry(Action.THRESHOLD_CHANGE)
    assert entry.actor == admin and entry.target_id == "arcface" and entry.details["threshold"] == 0.41
    assert entry.details["via"] == "calibration" and entry.details["previous"] == {"threshold": 0.32}

    row = PackSettings.objects.get(pack="arcface")
    client = world.client("admin")
    url = reverse("admin:recognition_packsettings_change", args=[row.pk])
    response = client.post(url, {"threshold": "0.45", "margin": str(row.margin)})
    assert response.status_code == 302
    entries = AuditEntry.objects.filter(action=Action.THRESHOLD_CHANGE, details__via="admin")
    assert entries.count() == 1
    assert entries[0].details["previous"] == {"threshold": 0.41} and entries[0].details["threshold"] == 0.45


def test_threshold_set_by_the_command_names_the_command(world: World) -> None:
    from audit.services import acting_as, command_actor

    with acting_as(command_actor("calibrate")):
        calibration.apply_threshold("arcface", 0.39)
    entry = only_entry(Action.THRESHOLD_CHANGE)
    assert entry.actor is None and entry.actor_name.startswith("manage.py calibrate (")


def test_data_exports(world: World, tmp_path) -> None:
    call_command("export_dataset", str(tmp_path / "out"), stdout=StringIO())
    entry = only_entry(Action.DATA_EXPORT)
    assert entry.actor is None and entry.actor_name.startswith("manage.py export_dataset (")
    assert entry.details["images"] == 1

    member = world.users["member"]
    page = world.client("member").get(reverse("attendance:export"))
    assert page.status_code == 200 and b"".join(page.streaming_content)
    api = APIClient()
    api.force_authenticate(world.users["operator"])
    assert api.get("/api/v1/attendance/export/").status_code == 200
    exports = AuditEntry.objects.filter(action=Action.DATA_EXPORT, target_type="attendance.attendanceevent")
    assert {(e.actor, e.details["via"], e.details["own_only"]) for e in exports} == {
        (member, "page", True),
        (world.users["operator"], "api", False),
    }


def test_consent_withdrawal(world: World) -> None:
    member = world.users["member"]
    accounts.withdraw_consent(member)
    entry = only_entry(Action.CONSENT_WITHDRAWAL)
    assert entry.actor == member and (entry.target_type, entry.target_id) == ("auth.user", str(member.pk))
    assert entry.details["images"] == 2
    purge = only_entry(Action.PURGE)  # the erasure itself, by the member
    assert purge.actor == member


def test_views_pass_who_did_it(world: World) -> None:
    """The API and the profile pass request.user down to the services."""
    admin = APIClient()
    admin.force_authenticate(world.users["admin"])
    assert admin.delete(f"/api/v1/persons/{world.person.pk}/").status_code == 204
    assert only_entry(Action.RECYCLE).actor == world.users["admin"]
    assert admin.post(f"/api/v1/persons/{world.person.pk}/restore/").status_code == 200
    assert only_entry(Action.RESTORE).actor == world.users["admin"]
    member = world.client("member")
    response = member.post(reverse("accounts:photo_remove", args=[world.image.pk]))
    assert response.status_code == 302
    recycled = AuditEntry.objects.filter(action=Action.RECYCLE).order_by("pk").last()
    assert recycled.actor == world.users["member"] and recycled.details["images"] == [world.image.pk]


def test_api_tokens(world: World) -> None:
    member = world.users["member"]
    accounts.create_api_token(member)
    assert only_entry(Action.TOKEN_CREATE).actor == member
    assert accounts.revoke_api_token(member)
    assert only_entry(Action.TOKEN_REVOKE).actor == member
    assert not accounts.revoke_api_token(member)  # nothing to revoke: nothing recorded
    assert AuditEntry.objects.filter(action=Action.TOKEN_REVOKE).count() == 1


def test_expired_face_crops_are_erased_on_record(world: World, settings) -> None:
    settings.EVIDENCE_RETENTION_DAYS = 0
    assert purge_expired_evidence(now=timezone.now() + timedelta(days=1)) == 1
    entry = only_entry(Action.ERASE)
    assert entry.actor is None and entry.actor_name == "system" and entry.details["crops"] == 1


# --- append-only --------------------------------------------------------------------------------------------
def test_entries_cannot_be_changed_or_deleted(world: World) -> None:
    entry = record(world.users["admin"], Action.PURGE, world.person, count=1)
    entry.details = {"count": 0}
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action=Action.RESTORE)
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    for sql in ("UPDATE audit_auditentry SET action = 'restore'", "DELETE FROM audit_auditentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql)
    entry.refresh_from_db()
    assert entry.action == Action.PURGE and entry.details == {"count": 1}


def test_deleting_the_actor_keeps_the_entry_and_the_name(world: World) -> None:
    user = make_user("temp")
    entry = record(user, Action.TOKEN_CREATE, user)
    user.delete()
    entry.refresh_from_db()
    assert entry.actor is None and entry.actor_name == "temp"


# --- who sees it --------------------------------------------------------------------------------------------
def test_only_admins_see_the_audit_log_and_nobody_edits_it(world: World) -> None:
    entry = record(world.users["admin"], Action.PURGE, world.person, count=1)
    changelist = reverse("admin:audit_auditentry_changelist")
    for role in ("anonymous", "member", "other", "operator"):
        response = world.client(role).get(changelist)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], role
    staff = make_user("clerk", is_staff=True)
    clerk = Client()
    clerk.force_login(staff)
    assert clerk.get(changelist).status_code == 403  # staff without audit.view_auditentry
    staff.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    assert clerk.get(changelist).status_code == 200

    admin = world.client("admin")
    page = admin.get(changelist)
    assert page.status_code == 200 and b"Ann Archer" in page.content
    assert admin.get(reverse("admin:audit_auditentry_add")).status_code == 403
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    assert admin.get(change).status_code == 200  # a read-only view
    assert admin.post(change, {"action": "restore"}).status_code == 403
    assert (
        admin.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.get(pk=entry.pk).action == Action.PURGE
