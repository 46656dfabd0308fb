"""Flash-sale purchase tokens: signed, short-lived, single use (docs/architecture.md, "The flash-sale flow").

A token is `<campaign>.<user>.<expires ms>.<nonce>.<signature>`: the signature (HMAC of the rest
with a key derived from SECRET_KEY) lets the hot path refuse forged, expired and other users'
tokens without touching Redis; single use is then decided inside the purchase script, where the
nonce's key is deleted. Split out of apps/promotion/flashsale.py, which re-exports these names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class TokenClaims:
    campaign_id: int
    user_id: int
    expires_ms: int
    nonce: str


class TokenRejected(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


_signing_keys: dict[str, bytes] = {}


def _signing_key() -> bytes:
    secret = settings.SECRET_KEY
    key = _signing_keys.get(secret)
    if key is None:
        key = _signing_keys[secret] = hashlib.sha256(b"nexuscart.flashsale.token:" + secret.encode()).digest()
    return key


def _sign(payload: str) -> str:
    digest = hmac.new(_signing_key(), payload.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_encode(*, campaign_id: int, user_id: int, expires_ms: int, nonce: str | None = None) -> tuple[str, str]:
    """(token, nonce) for a new purchase token."""
    nonce = nonce or secrets.token_urlsafe(12)
    payload = f"{campaign_id}.{user_id}.{expires_ms}.{nonce}"
    return f"{payload}.{_sign(payload)}", nonce


def token_verify(token: str, *, campaign_id: int, user_id: int, at_ms: int | None = None) -> TokenClaims:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 5:
        raise TokenRejected("token_invalid", "The purchase token is not valid.")
    payload, signature = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_sign(payload), signature):
        raise TokenRejected("token_invalid", "The purchase token is not valid.")
    try:
        claims = TokenClaims(int(parts[0]), int(parts[1]), int(parts[2]), parts[3])
    except ValueError as exc:
        raise TokenRejected("token_invalid", "The purchase token is not valid.") from exc
    if claims.campaign_id != campaign_id:
        raise TokenRejected("token_invalid", "The purchase token belongs to another flash sale.")
    if claims.user_id != user_id:
        raise TokenRejected("token_foreign", "The purchase token was issued to another user.")
    if claims.expires_ms <= (at_ms if at_ms is not None else now_ms()):
        raise TokenRejected("token_expired", "The purchase token has expired; ask for a new one.")
    return claims
