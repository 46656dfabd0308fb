"""Staff permissions for the API: a staff account may do only what its role (Django group) grants.

    permission_classes = [staff_permission("payment.add_refund")]

Being staff is not enough (it used to be: any staff account could refund, issue a 100%-off
coupon or adjust stock). The roles "support", "merchandiser", "warehouse" and "finance" are
Django groups holding model permissions (apps/user/migrations/0003_staff_roles.py); superusers
hold every permission. Refused: 401 without credentials, 403 problem+json otherwise.
"""

from __future__ import annotations

from functools import cache

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


@cache
def staff_permission(*perms: str) -> type[BasePermission]:
    """A DRF permission class: an active staff user holding every one of `perms`."""

    class HasStaffPermission(BasePermission):
        message = f"This needs the staff permission {', '.join(perms)}."
        required = perms

        def has_permission(self, request: Request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff and user.has_perms(perms))

    HasStaffPermission.__name__ = HasStaffPermission.__qualname__ = "HasStaffPermission_" + "_".join(
        p.replace(".", "_") for p in perms
    )
    return HasStaffPermission


__all__ = ["staff_permission"]
