"""Signals other apps listen to, so the identity domain never imports them (attendance keeps evidence crops of
people, and must forget them when a person is erased or follow them when two people are merged)."""

from django.dispatch import Signal

# Sent inside the erasing transaction, before the person's rows are deleted. Arguments: person, person_kept
# (True when the Person row stays, a name with no face data; False when it is deleted).
person_erasing = Signal()
# Sent inside the merging transaction, before `source` is deleted. Arguments: source, target.
people_merging = Signal()
