"""Logging: one plain line per record on the console."""

from facesite.settings.paths import env

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["ordinary_forbidden"]},
    },
    # An ordinary 403 logs one line, not a traceback.
    "filters": {"ordinary_forbidden": {"()": "facesite.log_filters.OrdinaryForbidden"}},
}
