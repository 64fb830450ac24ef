"""Reads for accounts pages: a member's profile (role, consent, photos, token)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from rest_framework.authtoken.models import Token

from accounts.models import Consent
from accounts.roles import is_admin, is_operator
from recognition.models import Enrollment, FaceImage, Person


def role_name(user) -> str:
    if is_admin(user):
        return "admin"
    return "operator" if is_operator(user) else "member"


@dataclass(frozen=True)
class Profile:
    role: str
    person: Person | None
    consent: Consent | None
    photos: list[FaceImage]  # newest first, the recycle bin's last
    counts: dict[str, int]  # by status
    latest_batch: Enrollment | None  # the user's latest enrollment batch (its refused files)
    has_token: bool
    token_created: object | None


def profile(user) -> Profile:
    person = Person.objects.filter(user=user).first()
    photos: list[FaceImage] = []
    counts = {status: 0 for status in FaceImage.Status.values}
    if person is not None:
        photos = sorted(person.images.all(), key=lambda image: (image.status == FaceImage.Status.DELETED,
                                                                -image.created_at.timestamp()))  # fmt: skip
        counts.update(person.images.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    token = Token.objects.filter(user=user).first()
    return Profile(
        role=role_name(user),
        person=person,
        consent=Consent.objects.filter(user=user, withdrawn_at__isnull=True).first(),
        photos=photos,
        counts=counts,
        latest_batch=Enrollment.objects.filter(started_by=user).order_by("-created_at").first(),
        has_token=token is not None,
        token_created=token.created if token else None,
    )
