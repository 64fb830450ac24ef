"""Signals the attendance domain sends, so apps that act on attendance (integrations: webhooks, MQTT) are never
imported by it."""

from __future__ import annotations

import logging

from django.dispatch import Signal

log = logging.getLogger("attendance")

# Sent once the transaction that recorded an attendance event has committed (never for a rolled-back one).
# Arguments: event (the AttendanceEvent).
attendance_recorded = Signal()
# Sent once an UnknownFace row (a face no one matched, in front of a recording stream) has committed, again when a
# later report of the same track made it longer. Arguments: face (the UnknownFace, `seen_s` as now stored).
unknown_face_recorded = Signal()


def send_attendance_recorded(event) -> None:
    """Tell listeners about a committed event; a failing listener is logged and never fails the recording."""
    for receiver, result in attendance_recorded.send_robust(sender=type(event), event=event):
        if isinstance(result, Exception):
            log.error("listener %r failed on attendance event %s", receiver, event.pk, exc_info=result)


def send_unknown_face_recorded(face) -> None:
    for receiver, result in unknown_face_recorded.send_robust(sender=type(face), face=face):
        if isinstance(result, Exception):
            log.error("listener %r failed on unknown face %s", receiver, face.pk, exc_info=result)
