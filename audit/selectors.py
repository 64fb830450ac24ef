"""Reading the audit log."""

from __future__ import annotations

from django.db import models
from django.db.models import Q, QuerySet

from audit.models import AuditEntry

LISTED = 200  # an object's history page shows the latest entries


def entries_about(obj: models.Model) -> QuerySet[AuditEntry]:
    """The entries whose target is `obj`, or that name it among the images they acted on (an image moved to the
    recycle bin is recorded against its person, with the image ids in the details), latest first."""
    meta = obj._meta
    about = Q(target_type=f"{meta.app_label}.{meta.model_name}", target_id=str(obj.pk))
    if meta.model_name == "faceimage":
        about |= Q(details__images__contains=[obj.pk])
    return AuditEntry.objects.filter(about).order_by("-at", "-pk")[:LISTED]
