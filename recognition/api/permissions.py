"""Who may do what: only staff change identities; operators identify anyone; members see and verify only
themselves (the queryset filters and the verify view enforce that part)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsStaffOrReadOnly(BasePermission):
    message = "Only staff may change identities."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)


class IsStaff(BasePermission):
    message = "Only staff may enroll faces or read enrollment batches."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsOperator(BasePermission):
    """Operators (kiosks, integrations) and staff: naming the people in any picture is not a member's right."""

    message = "Only operators and staff may identify people in pictures."

    def has_permission(self, request, view) -> bool:
        from accounts.roles import is_operator

        return is_operator(request.user)
