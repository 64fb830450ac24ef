"""The Celery app. Its configuration comes from Django settings (CELERY_*); tasks are found in each app."""

import os
import sys

from celery import Celery
from celery.signals import worker_init

# The one place outside facesite/settings that touches the environment: Celery's CLI needs the settings module.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")

app = Celery("facesite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_to_start_with_broken_models(**_kwargs) -> None:
    """A worker with a corrupt or missing model file exits at start-up, with one line naming the file."""
    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import verify_active_models

    try:
        verify_active_models()
    except (ModelMissing, ModelCorrupt) as exc:
        print(f"facesite worker cannot start: {exc}", file=sys.stderr)
        sys.exit(1)  # SystemExit passes through Celery's signal dispatch, which swallows Exceptions
