"""Writing the audit log. Services call `record` inside the transaction of the change they make, so an entry
exists exactly when the change was committed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models

from audit.models import Action, AuditEntry

SYSTEM = "system"  # the actor of scheduled jobs (retention) and of code run without a user
_acting: ContextVar[str] = ContextVar("audit_acting", default=SYSTEM)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Entries recorded without a user inside this block name `name` as the actor (management commands)."""
    token = _acting.set(name[:150])
    try:
        yield
    finally:
        _acting.reset(token)


@dataclass(frozen=True)
class Target:
    """What an action was done to when it is not one model instance (e.g. "attendance", a pack name)."""

    type: str
    id: str | int = ""
    label: str = ""


def _target(target: models.Model | Target | None) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, Target):
        return target.type, str(target.id), target.label[:255]
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name}", str(target.pk or ""), str(target)[:255]


def actor_label(actor, default: str = SYSTEM) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()[:150]
    return default[:150]


def record(
    actor,
    action: Action | str,
    target: models.Model | Target | None = None,
    *,
    actor_name: str | None = None,
    **details,
) -> AuditEntry:
    """Append one entry: `actor` (a user, or None for the system or a command: `actor_name`, else the name
    given by `acting_as`, else "system"), `action` (audit.models.Action), its target, and JSON-serialisable
    details."""
    target_type, target_id, target_label = _target(target)
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=actor_label(user, actor_name or _acting.get()),
        action=Action(action),
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        details=details,
    )


def record_per_person(
    actor, action: Action | str, images: Iterable[tuple[int, int | None, str]], **details
) -> list[AuditEntry]:
    """One entry per person for an action on face images: `images` are (image id, person id, person label)."""
    by_person: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for image_id, person_id, label in images:
        by_person[(person_id, label)].append(image_id)
    return [
        record(
            actor,
            action,
            Target("recognition.person", person_id or "", label),
            images=sorted(ids),
            count=len(ids),
            **details,
        )
        for (person_id, label), ids in sorted(by_person.items(), key=lambda kv: kv[0][0] or 0)
    ]


def command_actor(command: str) -> str:
    """Who ran a management command: `manage.py <command> (<OS user>)`; use it with `acting_as`."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"manage.py {command} ({user})"
