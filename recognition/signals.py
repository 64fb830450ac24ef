"""Signals other apps listen to, so the identity domain never imports them: attendance records the people live
streams confirm and the strangers they keep seeing, keeps evidence crops of people, and must forget them when a
person is erased or follow them when two people are merged."""

import logging

from django.dispatch import Signal

log = logging.getLogger("recognition.enrollment")

# Sent inside the erasing transaction, before the person's rows are deleted. Arguments: person, person_kept
# (True when the Person row stays, a name with no face data; False when it is deleted).
person_erasing = Signal()
# Sent inside the merging transaction, before `source` is deleted. Arguments: source, target.
people_merging = Signal()
# Sent once the transaction that marks an Enrollment batch done has committed (every image processed, or nothing
# was queued at all). Arguments: enrollment. Sent again if the batch is re-processed and finishes again.
enrollment_finished = Signal()


def send_enrollment_finished(enrollment) -> None:
    """Tell listeners about a finished batch; a failing listener is logged and never fails the enrollment."""
    for receiver, result in enrollment_finished.send_robust(sender=type(enrollment), enrollment=enrollment):
        if isinstance(result, Exception):
            log.error("listener %r failed on enrollment %s", receiver, enrollment.pk, exc_info=result)


# Sent by a live stream that records presence (a kiosk, a camera, an operator's page, `recognize --attendance`)
# when it confirms a person, in the stream's thread, outside any transaction. Arguments: person_id, source, score,
# margin, frame_bgr, box, stream (the stream's id and track), emotion, device_id (a kiosk or camera, or None).
# A receiver returns what it recorded, or None (a sighting inside the cooldown); the stream hands the records to
# its caller (a kiosk's "checked in 08:57").
face_confirmed = Signal()
# Sent by such a stream when a face it could not name has stayed in front of it for UNKNOWN_FACE_MIN_S, and once
# more at UNKNOWN_FACE_ALERT_S (once per threshold and track). Arguments: source, stream (id and track),
# device_id, first_seen_at (aware datetime), seen_s, nearest_score (the best gallery score, too low to name).
unknown_face_lingered = Signal()
# Asked before a run records presence at a source: a receiver raises ValueError for a source it cannot record.
presence_source_check = Signal()


def check_presence_source(source: str) -> None:
    """Raises ValueError when a listener that records presence does not know `source`."""
    presence_source_check.send(sender=None, source=source)


def send_robustly(signal: Signal, **kwargs) -> list:
    """Send `signal`; return the listeners' non-None answers, logging (never raising) a listener's failure."""
    answers = []
    for receiver, result in signal.send_robust(sender=None, **kwargs):
        if isinstance(result, Exception):
            log.error("listener %r failed", receiver, exc_info=result)
        elif result is not None:
            answers.append(result)
    return answers
