"""One writer of a pack's threshold and margin, one audit code; who changed it is a parameter."""

from __future__ import annotations

import pytest

from audit.models import Action, AuditEntry
from recognition.models import PackSettings
from recognition.services import calibration, reembed
from recognition.services.match_policy import PolicyChange, set_match_policy

pytestmark = pytest.mark.django_db


def changes() -> list[dict]:
    return list(
        AuditEntry.objects.filter(action=Action.THRESHOLD_CHANGE).order_by("pk").values_list("details", flat=True)
    )


def test_calibration_and_reembedding_change_the_policy_through_one_writer(admin_user) -> None:
    calibration.apply_threshold("arcface", 0.41, user=admin_user)
    reembed.prepare_reembed("arcface", admin_user, margin=0.07)
    assert [(c["via"], c["previous"], c["threshold"], c["margin"]) for c in changes()] == [
        ("calibration", {"threshold": 0.32}, 0.41, 0.05),
        ("reembed", {"margin": 0.05}, 0.41, 0.07),
    ]
    row = PackSettings.objects.get(pack="arcface")
    assert (row.threshold, row.margin, row.updated_by) == (0.41, 0.07, admin_user)


def test_setting_the_same_values_again_changes_and_records_nothing() -> None:
    set_match_policy("arcface", via=PolicyChange.ADMIN, threshold=0.32, margin=0.05)
    assert changes() == []


def test_a_new_pack_row_takes_the_shipped_defaults_for_what_is_not_given() -> None:
    PackSettings.objects.filter(pack="open").delete()
    row = set_match_policy("open", via=PolicyChange.ADMIN, threshold=0.5)
    assert (row.threshold, row.margin) == (0.5, 0.05) and changes()[0]["previous"] is None
    with pytest.raises(ValueError, match="has no match settings yet"):
        set_match_policy("unheard_of", via=PolicyChange.ADMIN, threshold=0.5)


@pytest.mark.parametrize("threshold", [1.5, -1.01, float("nan")])
def test_a_threshold_outside_cosine_range_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="lies in"):
        set_match_policy("arcface", via=PolicyChange.CALIBRATION, threshold=threshold)
    assert PackSettings.objects.get(pack="arcface").threshold == 0.32
