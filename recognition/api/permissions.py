"""Who may do what: staff change identities, each change only with its Django model permission (the same
permissions the admin and the staff pages check, so a clerk without "delete person" cannot delete through the
API either); operators identify anyone; members see and verify only themselves (the queryset filters and the
verify view enforce that part)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


def staff_permissions(request, view) -> list[str]:
    """The model permissions a staff request needs: the view's `staff_permissions`, keyed "action:METHOD" or
    "action" (e.g. {"destroy": ["recognition.delete_person"]}); a write the view does not list needs every
    permission of the model (never less than the admin would ask)."""
    wanted = getattr(view, "staff_permissions", {})
    action = getattr(view, "action", None) or ""
    for key in (f"{action}:{request.method}", action):
        if key in wanted:
            return list(wanted[key])
    model = view.get_queryset().model._meta
    return [f"{model.app_label}.{verb}_{model.model_name}" for verb in ("add", "change", "delete", "view")]


def _staff_with_permissions(request, view) -> bool:
    user = request.user
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.has_perms(staff_permissions(request, view))


class IsStaffOrReadOnly(BasePermission):
    message = "Only staff with the permission for this change may change identities."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or _staff_with_permissions(request, view)


class IsStaff(BasePermission):
    message = "Only staff with the permission for it may enroll faces or read enrollment batches."

    def has_permission(self, request, view) -> bool:
        return _staff_with_permissions(request, view)


class IsOperator(BasePermission):
    """Operators (kiosks, integrations) and staff: naming the people in any picture is not a member's right."""

    message = "Only operators and staff may identify people in pictures."

    def has_permission(self, request, view) -> bool:
        from accounts.roles import is_operator

        return is_operator(request.user)
