"""JWT authentication that reads no user row: the checkout's hot requests (issue 10, lean checkout).

simplejwt's JWTAuthentication loads the user from PostgreSQL on every request to check
`is_active`: one round trip of the checkout's budget, for a flag that changes almost never. Here
the signed token says who the user is, and the inactive-user set the hot path already keeps
(nexuscart.active_users, written after every change of User.is_active and every deletion of a
User, apps/user/active.py) says whether the account may still act: deactivation or deletion takes
effect within HOT_ACTIVE_CHECK_SECONDS in every process (at once in the one that made it),
exactly as on the flash-sale routes. When Redis cannot answer, the user row is read as before.

`request.user` is then a `TokenUserRef`: id, pk and is_authenticated without a query; any other
attribute loads the real user once (so code that needs e-mail or permissions keeps working, and an
account deleted without reaching the set is a 401 there, not a 500).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.functional import SimpleLazyObject
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from nexuscart import active_users


def _load(user_id: int) -> Any:
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise AuthenticationFailed("User not found", code="user_not_found")
    return user


class TokenUserRef(SimpleLazyObject):
    """The authenticated user, known by id; the row is read only if more than the id is used."""

    def __init__(self, user_id: int) -> None:
        super().__init__(lambda: _load(user_id))
        # Plain instance attributes are found before LazyObject's proxying __getattr__.
        self.__dict__.update(id=user_id, pk=user_id, is_authenticated=True, is_anonymous=False)

    def __bool__(self) -> bool:  # `request.user and ...` (IsAuthenticated) must not load the row
        return True


class ActiveTokenAuthentication(JWTAuthentication):
    """Same tokens and errors as JWTAuthentication, without the per-request user SELECT."""

    def get_user(self, validated_token: Any) -> Any:
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError):
            raise InvalidToken("Token contained no recognizable user identification") from None
        if api_settings.CHECK_REVOKE_TOKEN:  # needs the row's password hash
            return super().get_user(validated_token)
        active = active_users.is_active_now(user_id)
        if active is None:  # Redis could not tell: the row decides, as before
            return super().get_user(validated_token)
        if not active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return TokenUserRef(user_id)
