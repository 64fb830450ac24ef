"""The record of erasures: which people had their biometric data erased, and when (no name, no face data).

It is kept twice: in the database (ErasedPerson, so the admin and backups show it) and appended to a ledger file
beside the backups (ERASURE_LEDGER), which outlives the database: a restore of a backup taken before an erasure
reads both and erases the person again (facesite.backup.restore_backup).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from recognition.conf import recognition_settings
from recognition.models import ErasedPerson

log = logging.getLogger("recognition.erasures")


@dataclass(frozen=True)
class Tombstone:
    person_id: int
    erased_at: datetime
    person_kept: bool

    def as_json(self) -> dict:
        return {"person_id": self.person_id, "erased_at": self.erased_at.isoformat(),
                "person_kept": self.person_kept}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> Tombstone:
        return cls(int(data["person_id"]), datetime.fromisoformat(data["erased_at"]), bool(data["person_kept"]))


def record_erasure(person_id: int, *, person_kept: bool) -> Tombstone:
    """Remember that a person's biometric data was erased; the ledger line is written once the erasure
    commits. Call it inside the erasing transaction."""
    now = timezone.now()
    ErasedPerson.objects.update_or_create(
        person_id=person_id, defaults={"erased_at": now, "person_kept": person_kept}
    )
    tombstone = Tombstone(person_id, now, person_kept)
    transaction.on_commit(lambda: append_to_ledger([tombstone]))
    return tombstone


def ledger_path() -> Path:
    return Path(recognition_settings().erasure_ledger)


def append_to_ledger(tombstones: list[Tombstone], path: Path | None = None) -> None:
    """One JSON line per erasure, appended and flushed to disk (mode 0600). A ledger that cannot be written is
    logged, not raised: the erasure itself has happened, and the database keeps its tombstone."""
    path = path or ledger_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as ledger:
            for tombstone in tombstones:
                ledger.write(json.dumps(tombstone.as_json()) + "\n")
            ledger.flush()
            os.fsync(ledger.fileno())
    except OSError:
        log.exception("could not append to the erasure ledger %s", path)


def read_ledger(path: Path | None = None) -> list[Tombstone]:
    path = path or ledger_path()
    if not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(Tombstone.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            log.warning("erasure ledger %s line %s is unreadable; skipped", path, number)
    return found


def merge(*sources: list[Tombstone]) -> dict[int, Tombstone]:
    """person id -> the latest erasure; a person erased as a whole once stays erased as a whole."""
    merged: dict[int, Tombstone] = {}
    for tombstone in (t for source in sources for t in source):
        known = merged.get(tombstone.person_id)
        if known is None:
            merged[tombstone.person_id] = tombstone
        else:
            merged[tombstone.person_id] = Tombstone(
                tombstone.person_id, max(known.erased_at, tombstone.erased_at),
                known.person_kept and tombstone.person_kept,
            )  # fmt: skip
    return merged
