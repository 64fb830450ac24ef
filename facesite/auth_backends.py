"""Login throttling (django-axes): the backend that refuses locked-out logins, and the client address it uses.

AUTHENTICATION_BACKENDS puts LoginThrottleBackend first. Every login that comes over the network passes its
request to authenticate() (Django's login views and admin, DRF's token view), so every one is counted and can
be locked out. A call without a request (Django's test client `login()`, a shell) has no client address to
count and is let through to the next backend instead of failing.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind TRUSTED_PROXY_COUNT reverse proxies, the address the outermost of them saw (counted
    from the right of X-Forwarded-For, as entries further left are whatever the client sent)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
