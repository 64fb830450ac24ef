"""The Django project itself: applications, middleware, templates, static files, serving, the first admin."""

from facesite.settings.paths import BASE_DIR, env

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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "audit",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware: a request that cannot reach PostgreSQL answers 503 (settings.database).
    "facesite.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into a 429 with the message
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
                "accounts.context_processors.signup",  # nav: "Sign up"
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
# Static files: collected into staticfiles/ by `make run`; found in place too, so a fresh checkout serves them.
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- serving ---------------------------------------------------------------------------------------------------
PORT = env.int("PORT", default=8000)
BIND_ADDRESS = env("BIND_ADDRESS", default="127.0.0.1")

# --- first admin account (created by `manage.py ensure_admin` when no superuser exists) ---------------------
ADMIN_USERNAME = env("ADMIN_USERNAME", default="admin")
ADMIN_EMAIL = env("ADMIN_EMAIL", default="admin@localhost")
ADMIN_PASSWORD = env("ADMIN_PASSWORD", default="")
