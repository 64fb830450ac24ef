"""Writes of the attendance domain: record a presence, anonymise or erase evidence, expire old crops, and
record a data export in the audit log."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

import cv2
import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import is_operator
from attendance import rules
from attendance.conf import attendance_settings
from attendance.models import AttendanceEvent, Correction, Leave, Source, UnknownFace
from attendance.selectors import EventQuery
from attendance.signals import send_attendance_recorded, send_unknown_face_recorded
from audit.models import Action
from audit.services import Target, record
from recognition.models import Person

log = logging.getLogger("attendance")

GROUP = "attendance"  # the Channels group of operators' live attendance pages
EVIDENCE_PAD = 0.2  # fraction of the box added on each side, so the crop shows the whole head


def rule_config() -> rules.RuleConfig:
    conf = attendance_settings()
    return rules.RuleConfig(
        cooldown_s=conf.cooldown_s, checkout_gap_s=conf.checkout_gap_s, exit_sources=conf.exit_sources
    )


def known_sources() -> set[str]:
    return set(Source.values) | attendance_settings().exit_sources


def evidence_jpeg(frame_bgr: np.ndarray, box: np.ndarray, size_px: int) -> bytes | None:
    """A small JPEG of the face box (padded, clipped to the frame, longest side `size_px`); None if empty."""
    if frame_bgr is None or getattr(frame_bgr, "ndim", 0) < 2 or box is None or size_px <= 0:
        return None
    height, width = frame_bgr.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(-1)[:4])
    if not all(np.isfinite([x1, y1, x2, y2])):
        return None
    pad_x, pad_y = (x2 - x1) * EVIDENCE_PAD, (y2 - y1) * EVIDENCE_PAD
    left, top = max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y))
    right, bottom = min(width, int(np.ceil(x2 + pad_x))), min(height, int(np.ceil(y2 + pad_y)))
    if right - left < 2 or bottom - top < 2:
        return None
    crop = frame_bgr[top:bottom, left:right]
    scale = size_px / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)  # fmt: skip
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(crop), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return encoded.tobytes() if ok else None


def _sighting(event: AttendanceEvent) -> rules.Sighting:
    return rules.Sighting(at=event.at, source=event.source, kind=event.kind)


def record_presence(
    *,
    person_id: int,
    source: str,
    score: float,
    margin: float,
    frame_bgr: np.ndarray,
    box: np.ndarray,
    stream: str,
    emotion: str = "",
    at: datetime | None = None,
    device_id: int | None = None,
) -> AttendanceEvent | None:
    """Record that a recognised person was seen; None when the sighting falls inside the source's cooldown.
    `device_id`: the kiosk or camera it was seen at (its place), None for sightings without one (API, page).

    The person's row is locked while deciding, so two streams seeing the same person at once cannot both make
    the day's check-in. Operators' live pages get the new event once the transaction commits.
    """
    check_source(source)
    at = at or timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    day = rules.local_day(at, timezone.get_default_timezone())
    with transaction.atomic():
        person = Person.objects.select_for_update().only("pk", "display_name").get(pk=person_id)
        earlier = [_sighting(e) for e in AttendanceEvent.objects.filter(person_id=person_id, day=day, at__lte=at)]
        kind = rules.decide_kind(at=at, source=source, earlier_today=earlier, config=rule_config())
        if kind is None:
            return None
        event = AttendanceEvent(
            person=person, at=at, day=day, source=source, kind=kind, score=float(score), margin=float(margin),
            emotion=(emotion or "")[:16], stream=(stream or "")[:200], device_id=device_id,
        )  # fmt: skip
        crop = evidence_jpeg(frame_bgr, box, attendance_settings().evidence_px) if _keeps_evidence() else None
        if crop is not None:
            event.evidence.save("crop.jpg", ContentFile(crop), save=False)
        try:
            event.save()
        except Exception:
            if event.evidence:
                event.evidence.delete(save=False)
            raise
        summary = rules.summarise_day([*earlier, _sighting(event)])
        payload = event_payload(event, summary)
        transaction.on_commit(lambda: broadcast(payload))
        transaction.on_commit(lambda: send_attendance_recorded(event))
    return event


def check_source(source: str) -> None:
    """Raises ValueError for a source presence cannot be recorded at."""
    if source not in known_sources():
        raise ValueError(f"unknown attendance source {source!r}; one of {', '.join(sorted(known_sources()))}")


def record_unknown_face(
    *, source: str, stream: str, first_seen_at: datetime, seen_s: float, nearest_score: float | None = None,
    device_id: int | None = None,
) -> UnknownFace:  # fmt: skip
    """Record (or, for a later report of the same track, update) a face no one in the gallery matched. Listeners
    (webhooks, MQTT) are told once the row has committed."""
    day = rules.local_day(first_seen_at, timezone.get_default_timezone())
    with transaction.atomic():
        face, created = UnknownFace.objects.get_or_create(
            stream=stream[:200], first_seen_at=first_seen_at,
            defaults={"day": day, "seen_s": seen_s, "nearest_score": nearest_score, "source": source[:32],
                      "device_id": device_id},
        )  # fmt: skip
        if not created and seen_s > face.seen_s:
            face.seen_s = seen_s
            if nearest_score is not None:
                face.nearest_score = max(nearest_score, face.nearest_score or nearest_score)
            face.save(update_fields=["seen_s", "nearest_score"])
        transaction.on_commit(lambda: send_unknown_face_recorded(face))
        if created:
            transaction.on_commit(lambda: board_changed("unknown_face"))
    return face


def _keeps_evidence() -> bool:
    return attendance_settings().keeps_evidence


def event_payload(event: AttendanceEvent, summary: rules.DaySummary | None = None) -> dict:
    """What a live page shows of a new event (and of the person's day so far)."""
    local = timezone.localtime(event.at)
    evidence_url = reverse("attendance:evidence", args=[event.pk]) if event.evidence else None
    payload: dict = {
        "id": event.pk, "person_id": event.person_id,
        "person": event.person.display_name if event.person_id else "",
        "at": event.at.isoformat(), "local_time": local.strftime("%H:%M:%S"), "day": event.day.isoformat(),
        "source": event.source, "kind": event.kind, "score": round(event.score, 4),
        "margin": round(event.margin, 4),
        "emotion": event.emotion, "stream": event.stream, "evidence_url": evidence_url,
        "device_id": event.device_id,
    }  # fmt: skip
    if summary is not None:
        payload["summary"] = summary_payload(summary)
    return payload


def summary_payload(summary: rules.DaySummary) -> dict:
    def local(value: datetime | None) -> str | None:
        return timezone.localtime(value).strftime("%H:%M:%S") if value else None

    return {
        "first_in": local(summary.first_in), "last_out": local(summary.last_out),
        "present_s": round(summary.present_s), "events": summary.events, "checked_out": summary.checked_out,
    }  # fmt: skip


def broadcast(payload: dict) -> None:
    """Send a new event to the operators' live pages; a channel layer problem never loses the event."""
    _tell_operators({"type": "attendance.event", "event": payload}, f"attendance event {payload.get('id')}")


def board_changed(what: str) -> None:
    """Tell operators' dashboards that a tile other than attendance changed ("unknown_face", "device")."""
    _tell_operators({"type": "attendance.board", "changed": what}, f"that {what} changed")


def _tell_operators(message: dict, about: str) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(GROUP, message)
    except Exception:
        log.exception("could not tell the operators' pages %s", about)


# --- erasure and retention ----------------------------------------------------------------------------------
def _delete_evidence_files(events) -> int:
    removed = 0
    for event in events.exclude(evidence="").only("pk", "evidence"):
        event.evidence.delete(save=False)
        removed += 1
    return removed


def erase_attendance_evidence(person: Person) -> int:
    """Delete the face crops of a person's events; the events stay, linked to the person. Returns crops
    removed."""
    events = AttendanceEvent.objects.filter(person=person)
    removed = _delete_evidence_files(events)
    events.exclude(evidence="").update(evidence="")
    return removed


@transaction.atomic
def anonymise_attendance(person: Person) -> int:
    """Unlink a person's events from them: face crops and emotions deleted, the rows kept for headcounts under
    one random key (so a day's figures still add up, but no longer point at anyone). Returns rows
    anonymised."""
    events = AttendanceEvent.objects.filter(person=person)
    _delete_evidence_files(events)
    return events.update(
        person=None, anonymous_key=f"anon-{secrets.token_hex(8)}", evidence="", emotion="", stream="",
        anonymised_at=timezone.now(),
    )  # fmt: skip


def handle_biometric_erasure(person: Person, *, person_kept: bool = True) -> int:
    """What an erasure does to attendance, per ATTENDANCE_ANONYMISE_ON_ERASURE: anonymise the rows, or keep
    them and delete only their face crops. A person who is deleted (not kept as a name) is always anonymised:
    rows pointing at nobody must not keep crops and emotions. Call it before the person's images and
    embeddings are purged."""
    if attendance_settings().anonymise_on_erasure or not person_kept:
        return anonymise_attendance(person)
    return erase_attendance_evidence(person)


def delete_evidence_file_on_commit(event: AttendanceEvent) -> None:
    """Delete a deleted event's crop file once the deletion commits (a rolled-back delete keeps it)."""
    if not event.evidence:
        return
    storage, name = event.evidence.storage, event.evidence.name
    transaction.on_commit(lambda: storage.delete(name))


def purge_expired_evidence(*, now: datetime | None = None) -> int:
    """Delete face crops older than EVIDENCE_RETENTION_DAYS (the events stay). Returns crops removed."""
    days = attendance_settings().evidence_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=max(days, 0))
    events = AttendanceEvent.objects.filter(at__lt=cutoff).exclude(evidence="")
    removed = _delete_evidence_files(events)
    events.update(evidence="")
    if removed:
        record(None, Action.ERASE, Target("attendance.attendanceevent", label="face crops"), crops=removed,
               reason=f"older than {days} days (EVIDENCE_RETENTION_DAYS)")  # fmt: skip
    return removed


def record_export(user, query: EventQuery, via: str) -> None:
    """Attendance leaving the site as a file is a data export: the audit log says who took which events."""
    record(user, Action.DATA_EXPORT, Target("attendance.attendanceevent", label="attendance CSV"),
           filters=query.as_params(), own_only=not is_operator(user), via=via)  # fmt: skip


def record_report_export(user, query, via: str, file_format: str) -> None:
    """An attendance report leaving the site as a file is a data export too."""
    record(user, Action.DATA_EXPORT, Target("attendance.report", label=f"attendance report {file_format}"),
           filters=query.as_params(), own_only=not is_operator(user), via=via)  # fmt: skip


def move_attendance(source: Person, target: Person) -> int:
    """Two people merged into one: the source's attendance becomes the target's. Returns rows moved."""
    return AttendanceEvent.objects.filter(person=source).update(person=target)


# --- leave and corrections (issue 17) -----------------------------------------------------------------------
CORRECTION_ACTION = Action.ATTENDANCE_CORRECTION
LEAVE_ACTION = Action.ATTENDANCE_LEAVE


class NotYours(PermissionError):
    """The person is not among those this user may manage (another group's member, or not theirs)."""


class Refusal(StrEnum):
    """Why a leave entry or a correction was not made (words for it are made at the edge: views.REFUSALS)."""

    LEAVE_REVERSED = "leave_reversed"
    NO_REASON = "no_reason"
    NO_TIME = "no_time"
    NOT_AN_EVENT_KIND = "not_an_event_kind"
    UNKNOWN_KIND = "unknown_kind"
    ALREADY_DECIDED = "already_decided"


class Refused(ValueError):
    def __init__(self, code: Refusal, **params) -> None:
        super().__init__(f"{code.value} {params}" if params else code.value)
        self.code, self.params = code, params


def _managed_person(user, person_id: int) -> Person:
    from attendance.selectors import visible_people

    if not is_operator(user):
        raise NotYours(person_id)
    person = visible_people(user).filter(pk=person_id).first()
    if person is None:
        raise NotYours(person_id)
    return person


def enter_leave(user, *, person_id: int, first_day, last_day, reason: str) -> Leave:
    """An operator enters leave or an excused absence for whole days of a person they manage."""
    person = _managed_person(user, person_id)
    if last_day < first_day:
        raise Refused(Refusal.LEAVE_REVERSED)
    if not reason.strip():
        raise Refused(Refusal.NO_REASON)
    with transaction.atomic():
        leave = Leave.objects.create(person=person, first_day=first_day, last_day=last_day, reason=reason[:200],
                                     entered_by=user)  # fmt: skip
        record(user, LEAVE_ACTION, Target("recognition.person", person.pk, person.display_name),
               first_day=first_day.isoformat(), last_day=last_day.isoformat(), reason=reason)  # fmt: skip
    return leave


def _correction(person: Person, *, kind: str, at: datetime | None, event_kind: str, event_id: int | None,
                reason: str) -> Correction:  # fmt: skip
    if not reason.strip():
        raise Refused(Refusal.NO_REASON)
    if kind == Correction.Kind.ADD:
        if at is None:
            raise Refused(Refusal.NO_TIME)
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if event_kind not in (rules.CHECK_IN, rules.CHECK_OUT):
            raise Refused(Refusal.NOT_AN_EVENT_KIND)
        return Correction(person=person, kind=kind, at=at, event_kind=event_kind, reason=reason[:300])
    if kind == Correction.Kind.VOID:
        if not AttendanceEvent.objects.filter(pk=event_id, person=person).exists():
            raise NotYours(person.pk)  # another person's event is "not found", as everywhere
        return Correction(person=person, kind=kind, event_id=event_id, reason=reason[:300])
    raise Refused(Refusal.UNKNOWN_KIND, kind=kind)


def _audit_correction(user, correction: Correction, step: str) -> None:
    record(user, CORRECTION_ACTION, Target("attendance.correction", correction.pk, str(correction.person)),
           step=step, kind=correction.kind, at=correction.at.isoformat() if correction.at else None,
           event_kind=correction.event_kind, event=correction.event_id, reason=correction.reason,
           state=correction.state)  # fmt: skip


def correct(user, *, person_id: int, kind: str, reason: str, at: datetime | None = None, event_kind: str = "",
            event_id: int | None = None) -> Correction:  # fmt: skip
    """An operator corrects a person's attendance: applied at once (approved by them), audited; the original
    events stay as they were."""
    person = _managed_person(user, person_id)
    correction = _correction(person, kind=kind, at=at, event_kind=event_kind, event_id=event_id, reason=reason)
    correction.state = Correction.State.APPROVED
    correction.requested_by = correction.decided_by = user
    correction.decided_at = timezone.now()
    with transaction.atomic():
        correction.save()
        _audit_correction(user, correction, "made")
    return correction


def request_correction(user, *, kind: str, reason: str, at: datetime | None = None, event_kind: str = "",
                       event_id: int | None = None) -> Correction:  # fmt: skip
    """A member asks for a correction of their own attendance; an operator decides."""
    from accounts.services import person_for_user

    person = person_for_user(user, create=False)
    if person is None:
        raise NotYours(None)
    correction = _correction(person, kind=kind, at=at, event_kind=event_kind, event_id=event_id, reason=reason)
    correction.requested_by = user
    with transaction.atomic():
        correction.save()
        _audit_correction(user, correction, "requested")
    return correction


def decide_correction(user, correction_id: int, *, approve: bool) -> Correction:
    """An operator approves or rejects a requested correction of someone they manage."""
    with transaction.atomic():
        correction = Correction.objects.select_for_update().get(pk=correction_id)
        _managed_person(user, correction.person_id)
        if correction.state != Correction.State.REQUESTED:
            raise Refused(Refusal.ALREADY_DECIDED, state=correction.state)
        correction.state = Correction.State.APPROVED if approve else Correction.State.REJECTED
        correction.decided_by, correction.decided_at = user, timezone.now()
        correction.save(update_fields=["state", "decided_by", "decided_at"])
        _audit_correction(user, correction, correction.state)
    return correction
