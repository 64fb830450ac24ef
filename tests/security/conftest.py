"""The cast of the security tests: five roles and objects that belong to member A.

Roles: anonymous, member (A), other (member B: for an object URL, B asks for A's object), operator, admin
(a superuser). Objects: A's person, an enrolled face image and one in the recycle bin (real files under a tmp
MEDIA_ROOT), an enrollment batch, an attendance event with a face crop.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.roles import OPERATOR_GROUP
from accounts.services import record_consent
from attendance.models import AttendanceEvent
from recognition.models import Enrollment, FaceImage, Person

ROLES = ("anonymous", "member", "other", "operator", "admin")
PASSWORD = "Quartz-Lantern-5821"


def jpeg_bytes(color: tuple[int, int, int] = (200, 120, 90), size: tuple[int, int] = (64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@dataclass
class World:
    users: dict  # role -> user (None for anonymous)
    person: Person  # member A's
    image: FaceImage  # A's, enrolled
    deleted_image: FaceImage  # A's, in the recycle bin
    batch: Enrollment
    event: AttendanceEvent  # A's, with a face crop

    def client(self, role: str) -> Client:
        client = Client()
        if self.users[role] is not None:
            client.force_login(self.users[role])
        return client


def make_user(username: str, password: str | None = None, **extra):
    """A user; without a password (unusable: no slow hashing) unless the test logs in with one."""
    return get_user_model().objects.create_user(username, f"{username}@example.test", password, **extra)


def face_image(person: Person, batch: Enrollment, color, status=FaceImage.Status.ENROLLED) -> FaceImage:
    data = jpeg_bytes(color)
    import hashlib

    image = FaceImage(
        person=person,
        enrollment=batch,
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
        original_name="face.jpg",
        source="upload",
        face_box=[8, 8, 56, 56],
    )
    image.file.save("upload.jpg", ContentFile(data), save=False)
    if status == FaceImage.Status.DELETED:
        image.status_before_delete, image.deleted_at = FaceImage.Status.ENROLLED, timezone.now()
    image.save()
    return image


@pytest.fixture(autouse=True)
def fresh_throttles():
    """DRF counts requests in the cache: every test starts (and leaves) with no counts."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNUP_PENDING_DIR = tmp_path / "signup"
    member, other = make_user("ann"), make_user("bob")
    operator = make_user("olga")
    operator.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    admin = get_user_model().objects.create_superuser("root", "root@example.test", None)
    for user in (member, other):
        record_consent(user)
    person = Person.objects.create(display_name="Ann Archer", slug="ann-archer", user=member)
    Person.objects.create(display_name="Bob Baker", slug="bob-baker", user=other)
    batch = Enrollment.objects.create(source="upload", started_by=admin)
    image = face_image(person, batch, (200, 120, 90))
    deleted = face_image(person, batch, (90, 120, 200), FaceImage.Status.DELETED)
    at = timezone.now() - timedelta(hours=1)
    event = AttendanceEvent(
        person=person,
        at=at,
        day=timezone.localdate(at),
        source="camera",
        kind="check_in",
        score=0.8,
        margin=0.2,
    )
    event.evidence.save("crop.jpg", ContentFile(jpeg_bytes()), save=False)
    event.save()
    users = {"anonymous": None, "member": member, "other": other, "operator": operator, "admin": admin}
    return World(users=users, person=person, image=image, deleted_image=deleted, batch=batch, event=event)
