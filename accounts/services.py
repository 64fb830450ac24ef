"""Writes that matter for accounts: the first admin, sign-up, consent and its withdrawal, a member's own
photos, and personal API tokens. Views stay thin and call these."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from accounts.conf import account_settings
from accounts.models import Consent
from accounts.pending_frames import discard_pending
from audit.models import Action
from audit.services import record
from recognition.models import Enrollment, FaceImage, Person, Source
from recognition.services import lifecycle
from recognition.services.enrollment import start_enrollment

log = logging.getLogger("accounts")


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str | None  # None when it came from the environment (never echoed back)


def ensure_first_admin(username: str, email: str, password: str = "") -> FirstAdmin | None:
    """Create the first superuser when none exists; returns what was created, or None if one already exists.

    With no password given a random one is generated; the caller shows it once.
    """
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    generated = not password
    password = password or secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username=username, email=email, password=password)
    return FirstAdmin(username=username, password=password if generated else None)


# --- sign-up and the person behind an account ---------------------------------------------------------------
class ConsentRequired(PermissionError):
    """Biometric data is only taken from someone whose consent is on record and not withdrawn."""


def person_for_user(user, *, create: bool = True) -> Person | None:
    """The recognition Person linked to this account; created (named after the account) when missing.

    Never matched by name: two people called "Ann Lee" who sign up get two Persons. With ENROLL_SELF_APPROVAL
    the new Person is not searchable until staff approve it."""
    person = Person.objects.filter(user=user).first()
    if person is not None or not create:
        return person
    name = " ".join((user.get_full_name() or user.get_username()).split())[:200]
    base = slugify(name, allow_unicode=True)[:190] or "person"
    for slug in (base, f"{base}-{user.pk}", f"{base}-{secrets.token_hex(4)}"):
        try:
            with transaction.atomic():
                return Person.objects.create(display_name=name, slug=slug, user=user,
                                             awaiting_approval=account_settings().enroll_self_approval)  # fmt: skip
        except IntegrityError:
            continue  # the slug is taken (or, racing, the user got a person meanwhile)
    return Person.objects.get(user=user)


def record_consent(user, text: str | None = None, version: str | None = None) -> Consent:
    """Record consent to biometric processing (the text as shown, its version, now). An active consent of the
    same version is kept as it is; one of another version is closed and replaced."""
    text = account_settings().consent_text if text is None else text
    version = account_settings().consent_version if version is None else version
    with transaction.atomic():
        current = Consent.objects.select_for_update().filter(user=user, withdrawn_at__isnull=True).first()
        if current is not None and current.version == version and current.text == text:
            return current
        now = timezone.now()
        if current is not None:
            current.withdrawn_at = now
            current.save(update_fields=["withdrawn_at"])
        return Consent.objects.create(user=user, text=text, version=version, given_at=now)


def active_consent(user) -> Consent | None:
    return Consent.objects.filter(user=user, withdrawn_at__isnull=True).first()


def require_consent(user) -> None:
    if active_consent(user) is None:
        raise ConsentRequired("consent to biometric processing is needed before photos can be taken")


def sign_up(*, username: str, email: str, name: str, password: str) -> object:
    """Create a member account (password hashed by Django), record their consent (the current text) and the
    Person their face data will belong to. The caller has validated the input (SignUpForm)."""
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.create_user(username=username, email=email, password=password,
                                              first_name=name.strip()[:150])  # fmt: skip
        record_consent(user)
        person_for_user(user)
    log.info("account %s signed up", user.pk)
    return user


# --- withdrawing consent: erasing the biometric data --------------------------------------------------------
@dataclass(frozen=True)
class Erasure:
    images: int  # face images purged (files, rows, embeddings)
    attendance: int  # attendance rows anonymised, or face crops removed from kept rows
    anonymised: bool


def withdraw_consent(user) -> Erasure:
    """Withdraw consent and erase the user's biometric data: every face image file, image row and embedding,
    pending webcam frames, and attendance face crops. Attendance rows are anonymised (the Person goes too)
    or, with ATTENDANCE_ANONYMISE_ON_ERASURE off, kept under the Person, which then holds a name and no face
    data."""
    erasure = _erase_biometric_data(user, actor=user)
    log.info("account %s withdrew consent: %s images purged", user.pk, erasure.images)
    return erasure


def erase_deleted_account(user) -> Erasure:
    """An account is being deleted (the admin, a script): its biometric data goes exactly as on consent
    withdrawal, before the row does. Consent records stay as evidence, detached (Consent.account_id says
    whose). Called by the pre_delete signal (accounts.apps), so every way of deleting a user erases."""
    if not (Person.objects.filter(user=user).exists() or Consent.objects.filter(user=user).exists()):
        return Erasure(images=0, attendance=0, anonymised=account_settings().anonymise_on_erasure)
    erasure = _erase_biometric_data(user, actor=None, reason="account deleted")
    log.info("account %s deleted: %s images purged", user.pk, erasure.images)
    return erasure


def _erase_biometric_data(user, *, actor, **details) -> Erasure:
    anonymise = account_settings().anonymise_on_erasure
    with transaction.atomic():
        Consent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
        person = Person.objects.select_for_update().filter(user=user).first()
        images = attendance = 0
        if person is not None:
            # Attendance answers the erasure itself (the person_erasing signal), once, per the same setting.
            purged = lifecycle.purge_person(person, actor=actor, keep_person=not anonymise)
            images, attendance = purged.images, purged.erased_elsewhere
        record(actor, Action.CONSENT_WITHDRAWAL, user, person=getattr(person, "pk", None), images=images,
               attendance=attendance, attendance_anonymised=anonymise, **details)  # fmt: skip
    discard_pending(user)
    return Erasure(images=images, attendance=attendance, anonymised=anonymise)


# --- a member's own photos ----------------------------------------------------------------------------------
def own_images(user):
    """Every face image of the user's own Person (none for a user without one)."""
    return FaceImage.objects.filter(person__user=user)


def remove_own_photo(user, image_id: int) -> bool:
    """Move one of the user's own images to the recycle bin (out of search at once). False if not theirs."""
    return lifecycle.move_images_to_recycle_bin(own_images(user).filter(pk=image_id), actor=user) == 1


def restore_own_photo(user, image_id: int) -> bool:
    return lifecycle.restore_images(own_images(user).filter(pk=image_id), actor=user) == 1


def upload_own_photos(user, items: Iterable) -> Enrollment:
    """Enroll photos a member uploaded of themselves (UploadItems from recognition.uploads readers)."""
    require_consent(user)
    return start_enrollment(items, source=Source.UPLOAD, started_by=user, person=person_for_user(user))


# --- personal API tokens ------------------------------------------------------------------------------------
def create_api_token(user) -> str:
    """A new token for the REST API (`Authorization: Token <key>`); an existing one stops working."""
    with transaction.atomic():
        replaced, _ = Token.objects.filter(user=user).delete()
        key = Token.objects.create(user=user).key
        record(user, Action.TOKEN_CREATE, user, replaced_existing=bool(replaced))
        return key


def revoke_api_token(user) -> bool:
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        if deleted:
            record(user, Action.TOKEN_REVOKE, user)
    return bool(deleted)
