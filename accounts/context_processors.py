"""Template context every page needs from accounts: whether the nav offers "Sign up"."""

from django.http import HttpRequest

from accounts.conf import account_settings


def signup(request: HttpRequest) -> dict:
    return {"signup_open": account_settings().signup_open}
