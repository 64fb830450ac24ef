"""Webcam frames kept by a capture and not enrolled yet: files under SIGNUP_PENDING_DIR/<user id>/<capture id>/
(the frames, and reference.npy, the face template of the first). Deleted once enrolled, when a new capture
starts, when consent is withdrawn, and a day after a capture was abandoned."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from accounts.conf import account_settings

STALE_AFTER_S = 24 * 3600  # kept frames of a capture nobody finished are deleted after a day


def pending_dir(user_id: int, capture_id: str | None = None) -> Path:
    root = account_settings().signup_pending_dir / str(int(user_id))
    return root / capture_id if capture_id else root


def discard_pending(user) -> None:
    """Delete every kept-but-not-enrolled frame of this user (a new capture, or consent withdrawn)."""
    shutil.rmtree(pending_dir(user.pk), ignore_errors=True)


def purge_stale_pending(max_age_s: float = STALE_AFTER_S) -> int:
    """Delete the kept frames of captures abandoned more than `max_age_s` ago (every user). Returns how many
    users' folders were removed. Run at every capture start, so abandoned frames never linger long."""
    root = account_settings().signup_pending_dir
    if not root.is_dir():
        return 0
    cutoff = time.time() - max_age_s
    removed = 0
    for folder in root.iterdir():
        try:
            newest = max((p.stat().st_mtime for p in folder.rglob("*")), default=folder.stat().st_mtime)
        except OSError:
            continue
        if newest < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
