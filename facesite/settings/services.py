"""Redis, Celery and Channels. Without REDIS_URL: Celery runs tasks in-process (eager) and the channel layer is
in memory (one process). The beat schedule lives with retention (settings.retention)."""

from facesite.settings.paths import _local_secret, env

REDIS_URL = env("REDIS_URL", default="")
EMBEDDED_REDIS_PORT = env.int("FACESITE_REDIS_PORT", default=63790)
# The embedded Redis asks for this password (facesite.local.redis; `make run` puts it in the REDIS_URL it hands on).
EMBEDDED_REDIS_PASSWORD = _local_secret("redis_password") if not REDIS_URL else ""

# --- Celery --------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is delivered again; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    # Housekeeping runs on the default queue (any CPU worker), not on the enrollment/GPU queue.
    "recognition.tasks.purge_recycle_bin": {"queue": "celery"},
    "recognition.tasks.resume_enrollments": {"queue": "celery"},
    "recognition.tasks.*": {"queue": "enroll"},
}
CELERY_WORKER_QUEUES = env.list("CELERY_WORKER_QUEUES", default=["celery", "enroll"])
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=1)
# An unacknowledged task (its worker was killed) is delivered again after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
# Publishing a task to a broker that is down gives up after about a second instead of holding the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}

# --- Channels --------------------------------------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
