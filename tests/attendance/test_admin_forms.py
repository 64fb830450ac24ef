"""The shift assignment admin form: weekdays as checkboxes, a group or a person (exactly one)."""

from __future__ import annotations

from datetime import time

import pytest

from attendance.admin import ShiftAssignmentForm
from attendance.models import AttendanceGroup, ShiftType


@pytest.fixture
def shift(db):
    return ShiftType.objects.create(name="Day", start=time(9), end=time(17), time_zone="Europe/Berlin")


def test_weekdays_become_the_bitmask(shift, people):
    form = ShiftAssignmentForm(data={"shift": shift.pk, "person": people["alice"].pk, "first_day": "2026-03-01",
                                     "days": ["0", "2", "6"]})  # fmt: skip
    assert form.is_valid(), form.errors
    assignment = form.save()
    assert assignment.weekdays == 0b1000101 and assignment.weekday_set() == frozenset({0, 2, 6})
    again = ShiftAssignmentForm(instance=assignment)
    assert again.fields["days"].initial == ["0", "2", "6"]


@pytest.mark.parametrize("target", ["both", "neither"])
def test_a_group_or_a_person_not_both_nor_neither(shift, people, target):
    group = AttendanceGroup.objects.create(name="G")
    data = {"shift": shift.pk, "first_day": "2026-03-01", "days": ["0"]}
    if target == "both":
        data.update(group=group.pk, person=people["alice"].pk)
    form = ShiftAssignmentForm(data=data)
    assert not form.is_valid()
    assert "one of them" in str(form.errors)
