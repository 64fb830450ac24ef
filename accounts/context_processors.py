"""Template context every page needs from accounts: whether the nav offers "Sign up"."""

from django.conf import settings
from django.http import HttpRequest


def signup(request: HttpRequest) -> dict:
    return {"signup_open": settings.SIGNUP_OPEN}
