"""Secrets, hosts, login throttling (django-axes). Production hardening (HTTPS, cookies, HSTS, a required
SECRET_KEY) lives in facesite/settings_production.py; the API's rate limits in settings.api."""

from datetime import timedelta

from facesite.settings.paths import _local_secret, env

SECRET_KEY = env("SECRET_KEY", default="") or _local_secret("secret_key")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
