"""Roles: admin (staff), operator (runs the live page as a kiosk, sees all attendance), member (own data only)."""

from __future__ import annotations

OPERATOR_GROUP = "operator"


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


def is_operator(user) -> bool:
    """Operators and admins."""
    if not (user and user.is_authenticated):
        return False
    return is_admin(user) or user.groups.filter(name=OPERATOR_GROUP).exists()
