"""Roles: admin (staff), operator (runs the live page as a kiosk, sees all attendance), member (own data only)."""

from __future__ import annotations

OPERATOR_GROUP = "operator"


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


def is_operator(user) -> bool:
    """Operators and admins. The operator group is looked up once per user object (a request's user) and kept on
    it, as Django keeps a user's permissions: one page asks several times."""
    if not (user and user.is_authenticated):
        return False
    if is_admin(user):
        return True
    in_group = getattr(user, "_operator_group_cache", None)
    if in_group is None:
        in_group = user._operator_group_cache = user.groups.filter(name=OPERATOR_GROUP).exists()
    return in_group
