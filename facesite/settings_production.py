"""Production settings: facesite.settings, hardened. Use DJANGO_SETTINGS_MODULE=facesite.settings_production.

Served over HTTPS only (directly or behind a TLS-terminating reverse proxy): HTTP is redirected, cookies are
Secure and HttpOnly, HSTS is sent. SECRET_KEY must come from the environment: the development default of
generating one into var/ is not used here, and a missing key stops the start with one clear line.
`python manage.py check --deploy` is clean with these settings (tests/security/test_production_settings.py).
"""

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()

# Checked before facesite.settings is read, which would otherwise generate a key into var/.
if not _env("SECRET_KEY", default="").strip():
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: production settings need it from the environment "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

from facesite.settings import *  # noqa: E402,F403
from facesite.settings import env  # noqa: E402

DEBUG = False  # whatever DEBUG says in the environment

# --- HTTPS --------------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check calls plain http://127.0.0.1/healthz
# Behind a reverse proxy that terminates TLS: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (only when
# the proxy always sets or overwrites that header, or a client could claim HTTPS).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be two values: header,value (e.g. HTTP_X_FORWARDED_PROTO,https)"
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- cookies ------------------------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the form's hidden field, never from the cookie
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
