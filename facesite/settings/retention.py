"""Retention and backups, and the Celery beat schedule that runs the periodic work of every app.

A beat schedule (the worker runs with --beat) purges the recycle bin after RECYCLE_BIN_RETENTION_DAYS and
attendance face crops after EVIDENCE_RETENTION_DAYS, every RETENTION_PURGE_INTERVAL_S seconds; beat remembers its
last runs in var/ so restarts do not postpone them.
"""

from pathlib import Path

from facesite.settings.integrations import WEBHOOK_REQUEUE_INTERVAL_S
from facesite.settings.paths import VAR_DIR, env
from facesite.settings.recognition import ENROLL_RESUME_INTERVAL_S

RETENTION_PURGE_INTERVAL_S = env.int("RETENTION_PURGE_INTERVAL_S", default=3600)

# Backups (`manage.py backup` / `restore`): one tar of a pg_dump and the media folder.
BACKUP_DIR = Path(env("FACESITE_BACKUP_DIR", default=str(VAR_DIR / "backups")))
# Backups hold biometric data, erased people's included: they are deleted after BACKUP_RETENTION_DAYS (at each
# backup and by Celery beat; 0 keeps them for ever). Every erasure is also appended to ERASURE_LEDGER (person ids
# and times only), which outlives the database: a restore erases again whoever a newer erasure removed.
BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=30)
ERASURE_LEDGER = Path(env("FACESITE_ERASURE_LEDGER", default=str(BACKUP_DIR / "erasures.jsonl")))

CELERY_BEAT_SCHEDULE = {
    "purge-recycle-bin": {"task": "recognition.tasks.purge_recycle_bin", "schedule": RETENTION_PURGE_INTERVAL_S},
    "purge-attendance-evidence": {
        "task": "attendance.tasks.purge_expired_evidence",
        "schedule": RETENTION_PURGE_INTERVAL_S,
    },
    # Images still pending after this long (uploaded while the queue was down) are queued again.
    "resume-enrollments": {"task": "recognition.tasks.resume_enrollments", "schedule": ENROLL_RESUME_INTERVAL_S},
    "prune-backups": {"task": "facesite.tasks.prune_backups", "schedule": RETENTION_PURGE_INTERVAL_S},
    # Expired sessions (a capture's state, a pending sign-up) leave django_session instead of staying there.
    "clear-sessions": {"task": "facesite.tasks.clear_sessions", "schedule": RETENTION_PURGE_INTERVAL_S},
    # Deliveries whose task the broker lost (a Redis restart, a queue that was down) are queued again.
    "requeue-webhook-deliveries": {
        "task": "integrations.tasks.requeue_due_deliveries",
        "schedule": WEBHOOK_REQUEUE_INTERVAL_S,
    },
    "purge-webhook-deliveries": {
        "task": "integrations.tasks.purge_old_deliveries",
        "schedule": RETENTION_PURGE_INTERVAL_S,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
