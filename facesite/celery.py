"""The Celery app. Its configuration comes from Django settings (CELERY_*); tasks are found in each app."""

import os

from celery import Celery

# The one place outside settings.py that touches the environment: Celery's CLI needs to know the settings module.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")

app = Celery("facesite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
