"""django-axes with two limits: LOGIN_FAILURE_LIMIT per username and address (a guessed password), and
LOGIN_ADDRESS_FAILURE_LIMIT per address over every username (password spraying).

Axes compares one number with one limit, so the address's failures are scaled onto the username limit: the
address alone reaches it exactly when it has LOGIN_ADDRESS_FAILURE_LIMIT failures. A good login resets only
its own username's failures from that address; the sprayer's other failures keep counting.
AXES_LOCKOUT_PARAMETERS must be [["username", "ip_address"], "ip_address"], in that order.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        per_user, per_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        user_limit, address_limit = settings.LOGIN_FAILURE_LIMIT, max(1, settings.LOGIN_ADDRESS_FAILURE_LIMIT)
        return max(per_user, per_address * user_limit // address_limit)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        own, _address = self.filter_user_attempts(request, credentials)
        count, _ = own.delete()
        return count
