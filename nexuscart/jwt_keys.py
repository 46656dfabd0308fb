"""JWT signing keys with a key id, and the previous key still accepted during a rotation.

Access and refresh tokens are signed with JWT_SIGNING_KEY (never SECRET_KEY: rotating one must
not force the other) and carry its id in the `kid` header (JWT_KEY_ID). To rotate: move the
current pair to JWT_PREVIOUS_SIGNING_KEY / JWT_PREVIOUS_KEY_ID, set a new current pair, deploy;
tokens signed with the previous key keep verifying until they expire (refresh lifetime), then
drop the previous key. A token with an unknown kid is refused; one without a kid is checked
against the current key only.

Used by simplejwt (RotatingTokenBackend, installed by apps.user at start-up) and by the hot
path (nexuscart.hotpath.authenticate), so both verify exactly the same tokens.
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError


def keys() -> dict[str, str]:
    """kid -> key, the current key first."""
    found = {settings.JWT_KEY_ID: settings.SIMPLE_JWT["SIGNING_KEY"]}
    previous = getattr(settings, "JWT_PREVIOUS_SIGNING_KEY", "")
    if previous:
        found.setdefault(settings.JWT_PREVIOUS_KEY_ID, previous)
    return found


def key_for(token: str) -> str:
    """The key named by the token's kid; jwt.InvalidTokenError when there is none."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise
    except Exception as exc:  # a header that is not JSON, not an object, ...
        raise jwt.DecodeError("malformed token header") from exc
    if kid is None:  # minted before key ids (or by hand): only the current key may have signed it
        return settings.SIMPLE_JWT["SIGNING_KEY"]
    key = keys().get(kid) if isinstance(kid, str) else None
    if key is None:
        raise jwt.InvalidKeyError("unknown key id")
    return key


def decode(token: str, **options: Any) -> dict[str, Any]:
    """jwt.decode with the key the token names and the configured algorithm."""
    return jwt.decode(token, key_for(token), algorithms=[settings.SIMPLE_JWT["ALGORITHM"]], **options)


class RotatingTokenBackend(TokenBackend):
    """simplejwt's backend, signing with the current key id and verifying by the token's key id."""

    def encode(self, payload: dict[str, Any]) -> str:
        jwt_payload = payload.copy()
        if self.audience is not None:
            jwt_payload["aud"] = self.audience
        if self.issuer is not None:
            jwt_payload["iss"] = self.issuer
        return jwt.encode(
            jwt_payload,
            settings.SIMPLE_JWT["SIGNING_KEY"],
            algorithm=self.algorithm,
            headers={"kid": settings.JWT_KEY_ID},
            json_encoder=self.json_encoder,
        )

    def get_verifying_key(self, token: Any) -> Any:
        try:
            return key_for(token)
        except jwt.PyJWTError as exc:
            raise TokenBackendError("Token is invalid") from exc


def install() -> None:
    """Make simplejwt use RotatingTokenBackend (its tokens look the backend up in this module attribute)."""
    from rest_framework_simplejwt import state
    from rest_framework_simplejwt.settings import api_settings

    state.token_backend = RotatingTokenBackend(
        api_settings.ALGORITHM,
        api_settings.SIGNING_KEY,
        api_settings.VERIFYING_KEY,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        api_settings.JWK_URL,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
    )


__all__ = ["RotatingTokenBackend", "decode", "install", "key_for", "keys"]
