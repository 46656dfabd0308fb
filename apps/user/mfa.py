"""A second factor for staff (issue 13 #4): TOTP through allauth's MFA, required for the admin when
ADMIN_REQUIRE_MFA is on (config.settings.production turns it on).

- The admin's own login form is replaced by allauth's sign-in (secure_admin_login): one sign-in
  path, where allauth asks for the TOTP code of an account that has one (its MFA login stage), and
  where the lockout of apps.user.lockout counts failures as everywhere else.
- AdminMfaMiddleware: a staff session reaching /admin/ must have passed MFA in this session; an
  account without TOTP is sent to set it up first (allauth's activate page), one that signed in
  without the code (a session from before it was set up) is asked for it again (reauthenticate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from allauth.account.decorators import secure_admin_login
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

ADMIN_PREFIX = "/admin/"


def _required() -> bool:
    return bool(getattr(settings, "ADMIN_REQUIRE_MFA", False))


def install_admin_login() -> None:
    """Route /admin/login/ through allauth's sign-in whenever ADMIN_REQUIRE_MFA is on (read per request)."""
    original = admin.site.login
    through_allauth = secure_admin_login(original)

    def login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if _required():
            return through_allauth(request, extra_context)
        return original(request, extra_context)

    admin.site.login = login


def passed_mfa(request: HttpRequest) -> bool:
    return any(r.get("method") == "mfa" for r in get_authentication_records(request, request.user))


class AdminMfaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(ADMIN_PREFIX) and _required():
            user: Any = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff:
                query = urlencode({"next": request.get_full_path()})
                if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
                    return HttpResponseRedirect(f"{reverse('mfa_activate_totp')}?{query}")
                if not passed_mfa(request):
                    return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{query}")
        return self.get_response(request)


__all__ = ["AdminMfaMiddleware", "install_admin_login", "passed_mfa"]
