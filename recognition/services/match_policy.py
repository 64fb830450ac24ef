"""The one writer of a pack's match policy (PackSettings.threshold and margin), with one audit code.

Calibration, the admin and re-embedding all change the policy through `set_match_policy`; the audit entry
(Action.THRESHOLD_CHANGE) says which of them did it (`via`) and what the values were before.
"""

from __future__ import annotations

import math
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import Target, record
from recognition.domain.pack import DEFAULT_POLICIES
from recognition.models import PackSettings


class PolicyChange(StrEnum):
    CALIBRATION = "calibration"
    ADMIN = "admin"
    REEMBED = "reembed"


def _checked(name: str, value: float | None, low: float, high: float) -> float | None:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"a {name} lies in [{low:g}, {high:g}], not {value}")
    return value


def set_match_policy(
    pack: str, *, via: PolicyChange, threshold: float | None = None, margin: float | None = None, user=None
) -> PackSettings:
    """Store a pack's threshold and/or margin (a missing row is created with the shipped defaults for what is
    not given; ValueError when a pack has none) and audit the change."""
    threshold = _checked("cosine-similarity threshold", threshold, -1.0, 1.0)
    margin = _checked("margin", margin, 0.0, 2.0)
    actor = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        row = PackSettings.objects.select_for_update().filter(pack=pack).first()
        if row is None:
            shipped = DEFAULT_POLICIES.get(pack, {})
            values = {"threshold": threshold, "margin": margin}
            values = {key: shipped.get(key) if value is None else value for key, value in values.items()}
            if None in values.values():
                raise ValueError(f"pack {pack!r} has no match settings yet: give both its threshold and margin")
            row = PackSettings.objects.create(pack=pack, updated_by=actor, **values)
            previous = None
        else:
            previous = {}
            for key, value in (("threshold", threshold), ("margin", margin)):
                if value is not None and value != getattr(row, key):
                    previous[key] = getattr(row, key)
                    setattr(row, key, value)
            if not previous:
                return row
            row.updated_at, row.updated_by = timezone.now(), actor
            row.save(update_fields=["threshold", "margin", "updated_at", "updated_by"])
        record(actor, Action.THRESHOLD_CHANGE, Target("recognition.packsettings", pack, pack), previous=previous,
               threshold=row.threshold, margin=row.margin, via=str(via))  # fmt: skip
    return row
