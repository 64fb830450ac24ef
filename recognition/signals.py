"""Signals other apps listen to, so the identity domain never imports them (attendance keeps evidence crops of
people, and must forget them when a person is erased or follow them when two people are merged)."""

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
