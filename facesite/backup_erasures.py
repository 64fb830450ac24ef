"""Erasures and backups: what a restore must do so that nobody erased comes back.

A backup taken before someone's erasure still holds their face images, embeddings and attendance crops. The
erasures are known from tombstones (recognition.services.erasures): the ledger file beside the backups, the
database being restored over, and the backup itself. After pg_restore, this module erases those people again in
the restored database, in plain SQL (the target may be any database, not Django's connection), and says which
media files must not be written back. It runs in one transaction; a failure fails the restore loudly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from recognition.services.erasures import Tombstone


def _tables() -> dict[str, str]:
    from attendance.models import AttendanceEvent
    from recognition.models import ErasedPerson, FaceEmbedding, FaceImage, Person

    return {"person": Person._meta.db_table, "image": FaceImage._meta.db_table,
            "embedding": FaceEmbedding._meta.db_table, "event": AttendanceEvent._meta.db_table,
            "erased": ErasedPerson._meta.db_table}  # fmt: skip


def read_tombstones(conn) -> list[Tombstone]:
    """The tombstones a database holds (none when it has no such table yet: empty, or from an older version)."""
    table = _tables()["erased"]
    exists = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]
    if exists is None:
        return []
    rows = conn.execute(f'SELECT person_id, erased_at, person_kept FROM "{table}"').fetchall()
    return [Tombstone(int(pid), at, bool(kept)) for pid, at, kept in rows]


@dataclass
class Reapplied:
    removed: list[int] = field(default_factory=list)  # people deleted again
    stripped: list[int] = field(default_factory=list)  # people kept as a name, their face data erased again
    files: set[str] = field(default_factory=set)  # media names (relative) that must not be restored
    person_ids: set[int] = field(default_factory=set)  # every tombstoned id: their faces/<id>/ folder is skipped

    def skips(self, media_name: str) -> bool:
        parts = media_name.split("/")
        if media_name in self.files:
            return True
        return len(parts) > 2 and parts[0] == "faces" and parts[1].isdigit() and int(parts[1]) in self.person_ids


def reapply(conn, tombstones: dict[int, Tombstone]) -> Reapplied:
    """Erase again, in the restored database, everyone a tombstone names; record every tombstone there; move
    the person id sequence past every erased id (a new person must never get an erased person's id)."""
    t = _tables()
    done = Reapplied(person_ids=set(tombstones))
    if not tombstones:
        return done
    with conn.transaction():
        present = [row[0] for row in conn.execute(
            f'SELECT id FROM "{t["person"]}" WHERE id = ANY(%s)', [list(tombstones)]
        )]  # fmt: skip
        done.files |= {row[0] for row in conn.execute(
            f'SELECT file FROM "{t["image"]}" WHERE person_id = ANY(%s) AND file <> %s', [list(tombstones), ""]
        )}  # fmt: skip
        done.files |= {row[0] for row in conn.execute(
            f'SELECT evidence FROM "{t["event"]}" WHERE person_id = ANY(%s) AND evidence <> %s',
            [list(tombstones), ""],
        )}  # fmt: skip
        conn.execute(f'DELETE FROM "{t["embedding"]}" WHERE person_id = ANY(%s)', [present])
        conn.execute(f'DELETE FROM "{t["image"]}" WHERE person_id = ANY(%s)', [present])
        for person_id in present:
            if tombstones[person_id].person_kept:
                conn.execute(f'UPDATE "{t["event"]}" SET evidence = %s WHERE person_id = %s', ["", person_id])
                done.stripped.append(person_id)
                continue
            conn.execute(
                f'UPDATE "{t["event"]}" SET person_id = NULL, anonymous_key = %s, evidence = %s, emotion = %s, '
                f"stream = %s, anonymised_at = now() WHERE person_id = %s",
                [f"anon-{secrets.token_hex(8)}", "", "", "", person_id],
            )
            conn.execute(f'DELETE FROM "{t["person"]}" WHERE id = %s', [person_id])
            done.removed.append(person_id)
        # A backup older than the tombstone table: `migrate` creates it after the restore; the ledger keeps them.
        has_tombstones = conn.execute("SELECT to_regclass(%s)", [t["erased"]]).fetchone()[0] is not None
        for tombstone in tombstones.values() if has_tombstones else ():
            conn.execute(
                f'INSERT INTO "{t["erased"]}" (person_id, erased_at, person_kept) VALUES (%s, %s, %s) '
                f"ON CONFLICT (person_id) DO UPDATE SET erased_at = GREATEST("
                f'"{t["erased"]}".erased_at, EXCLUDED.erased_at), person_kept = "{t["erased"]}".person_kept '
                f"AND EXCLUDED.person_kept",
                [tombstone.person_id, tombstone.erased_at, tombstone.person_kept],
            )
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST((SELECT coalesce(max(id), 0) FROM "
            f'"{t["person"]}"), %s, 1))',
            [t["person"], max(tombstones)],
        )
    return done
