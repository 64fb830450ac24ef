"""Migration 0009 moves the open pack's shipped threshold, and only a row that still holds the old shipped one."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from recognition.models import PackSettings

pytestmark = pytest.mark.django_db

migration = importlib.import_module("recognition.migrations.0009_open_pack_threshold_from_the_tail")


def open_row() -> tuple[float, float]:
    row = PackSettings.objects.get(pack="open")
    return row.threshold, row.margin


def test_the_shipped_row_moves_and_a_calibrated_one_is_kept():
    assert open_row() == (0.45, 0.05)  # the migrations ran on the test database
    migration.backwards(apps, None)
    assert open_row() == (0.50, 0.05)
    migration.forwards(apps, None)
    assert open_row() == (0.45, 0.05)
    PackSettings.objects.filter(pack="open").update(threshold=0.47)  # a deployment calibrated
    migration.forwards(apps, None)
    migration.backwards(apps, None)
    assert open_row() == (0.47, 0.05)
