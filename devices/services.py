"""Writes of the devices domain: kiosk pairing and credentials, camera stream URLs, device status, and the
camera worker's leases."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, Q, Value
from django.db.models.functions import Now
from django.utils import timezone

from devices import secrets
from devices.conf import device_settings
from devices.models import Device, Kind, Status
from devices.signals import device_status_changed

log = logging.getLogger("devices")


# --- kiosks ------------------------------------------------------------------------------------------------
def start_pairing(device: Device) -> str:
    """A new one-time pairing code for a kiosk (valid DEVICE_PAIRING_TTL_S); any earlier code stops working.
    The kiosk's current credential, if any, keeps working until the code is used."""
    if device.kind != Kind.KIOSK:
        raise ValueError("only kiosks pair; a camera is read by the camera worker")
    code = secrets.new_pairing_code()
    device.pairing_code_hash = secrets.hash_token(code)
    device.pairing_expires_at = timezone.now() + timedelta(seconds=device_settings().pairing_ttl_s)
    device.save(update_fields=["pairing_code_hash", "pairing_expires_at"])
    return code


def pair(code: str) -> tuple[Device, str] | None:
    """Exchange a pairing code for the kiosk's credential `"<device id>.<secret>"` (only its hash is kept; the
    code is spent and an earlier credential of the device is revoked). None for a wrong or expired code."""
    code = (code or "").strip().upper().replace("-", "").replace(" ", "")
    if not code:
        return None
    with transaction.atomic():
        device = (
            Device.objects.select_for_update()
            .filter(
                pairing_code_hash=secrets.hash_token(code),
                pairing_expires_at__gt=timezone.now(),
                kind=Kind.KIOSK,
                enabled=True,
            )  # fmt: skip
            .first()
        )
        if device is None:
            return None
        secret = secrets.new_token()
        device.credential_hash = secrets.hash_token(secret)
        device.pairing_code_hash, device.pairing_expires_at = "", None
        device.paired_at = timezone.now()
        device.save(update_fields=["credential_hash", "pairing_code_hash", "pairing_expires_at", "paired_at"])
    log.info("kiosk %s (%s) paired", device.pk, device.name)
    return device, f"{device.pk}.{secret}"


def kiosk_for_credential(credential: str | None) -> Device | None:
    """The enabled kiosk a credential belongs to, or None (revoked, disabled, malformed)."""
    device_id, _, secret = (credential or "").partition(".")
    if not device_id.isdigit() or not secret:
        return None
    device = Device.objects.select_related("location").filter(pk=int(device_id), kind=Kind.KIOSK, enabled=True).first()
    if device is None or not secrets.same_hash(secret, device.credential_hash):
        return None
    return device


def revoke_credential(device: Device) -> None:
    """The kiosk stops working at once (its open socket is refused at the next frame); pair it again to use it."""
    Device.objects.filter(pk=device.pk).update(credential_hash="", pairing_code_hash="", pairing_expires_at=None)
    device.credential_hash = device.pairing_code_hash = ""
    device.pairing_expires_at = None


# --- cameras -----------------------------------------------------------------------------------------------
def set_stream_url(device: Device, url: str, *, password: str | None = None) -> None:
    """Store a camera's stream URL; a password in it (or given apart) is encrypted and the URL kept without it.
    `password=None` and no password in the URL keep the stored password."""
    bare, in_url = secrets.split_password(url.strip())
    device.stream_url = bare
    new_password = in_url or password
    if new_password is not None:
        device.stream_secret = secrets.encrypt(new_password)


def reader_url(device: Device) -> str:
    """The URL the camera worker opens, with the password put back. Never shown, never logged."""
    return secrets.join_password(device.stream_url, secrets.decrypt(device.stream_secret))


def _lease_until(lease_s: float) -> ExpressionWrapper:
    # The database's clock, not this host's: workers on several machines compare against one clock.
    return ExpressionWrapper(Now() + Value(timedelta(seconds=lease_s)), output_field=DateTimeField())


def claim_cameras(worker_id: str, *, lease_s: float, limit: int) -> list[Device]:
    """Lease up to `limit` enabled cameras that no live lease holds (a dead worker's lease lapses after
    `lease_s`), including those this worker already holds. Each claim is one conditional UPDATE, so of two
    workers racing for a camera exactly one gets it."""
    held = list(Device.objects.filter(kind=Kind.CAMERA, enabled=True, lease_owner=worker_id,
                                      lease_expires_at__gt=Now()).values_list("pk", flat=True))  # fmt: skip
    # Renewed now: a reader started on a lease already held counts its time from now, so must the database.
    held = sorted(renew_leases(worker_id, held, lease_s=lease_s))
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=Now())
    candidates = (
        Device.objects.filter(free, kind=Kind.CAMERA, enabled=True).exclude(stream_url="")
        .order_by("lease_expires_at", "pk").values_list("pk", flat=True)
    )  # fmt: skip
    claimed = []
    for pk in candidates[: max(0, limit - len(held)) * 2]:
        if len(held) + len(claimed) >= limit:
            break
        if Device.objects.filter(free, pk=pk, enabled=True).update(
            lease_owner=worker_id, lease_expires_at=_lease_until(lease_s)
        ):
            claimed.append(pk)
    return list(Device.objects.filter(pk__in=held + claimed).select_related("location"))


def renew_leases(worker_id: str, device_ids: list[int], *, lease_s: float) -> set[int]:
    """Extend this worker's leases; returns the cameras it still holds (a lost or disabled one must stop)."""
    mine = Device.objects.filter(pk__in=device_ids, lease_owner=worker_id, enabled=True, lease_expires_at__gt=Now())
    with transaction.atomic():
        kept = set(mine.select_for_update().values_list("pk", flat=True))
        Device.objects.filter(pk__in=kept).update(lease_expires_at=_lease_until(lease_s))
    return kept


def release_leases(worker_id: str, device_ids: list[int]) -> None:
    """A worker stopping cleanly hands its cameras over at once instead of after the lease."""
    Device.objects.filter(pk__in=device_ids, lease_owner=worker_id).update(lease_owner="", lease_expires_at=None)


# --- status ------------------------------------------------------------------------------------------------
def report_status(
    device_id: int,
    status: str,
    *,
    error: str | None = None,
    fps: float | None = None,
    last_frame_at: datetime | None = None,
) -> None:
    """Store what a kiosk connection or a camera reader knows now; a change of status sends
    device_status_changed once it commits."""
    fields: dict = {"status": status}
    if status == Status.ONLINE:
        fields["last_seen"] = last_frame_at or timezone.now()
    if error is not None:
        fields["last_error"] = secrets.redact(error)[:300]
    if fps is not None:
        fields["fps"] = round(fps, 2)
    if last_frame_at is not None:
        fields["last_frame_at"] = last_frame_at
    with transaction.atomic():
        previous = Device.objects.select_for_update().filter(pk=device_id).values_list("status", flat=True).first()
        if previous is None:
            return
        Device.objects.filter(pk=device_id).update(**fields)
        if previous != status:
            transaction.on_commit(lambda: _announce(device_id, previous, status))


def _announce(device_id: int, previous: str, status: str) -> None:
    device = Device.objects.select_related("location").filter(pk=device_id).first()
    if device is None:
        return
    log.info("device %s (%s) %s -> %s", device.pk, device.name, previous, status)
    for receiver, result in device_status_changed.send_robust(Device, device=device, previous=previous,
                                                              status=status):  # fmt: skip
        if isinstance(result, Exception):
            log.error("device_status_changed receiver %r failed: %s", receiver, result)
