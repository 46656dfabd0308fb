"""Flash-sale endpoints on the thin ASGI layer (nexuscart.hotpath), not Django's request handler.

    POST /api/v1/flash-sales/{id}/token                  201 {token, expires_at}
    POST /api/v1/flash-sales/{id}/purchase               202 {reservation_id, status: "reserved"}
    GET  /api/v1/flash-sales/reservations/{reservation}  200 {reservation_id, status, order_id}

A purchase is one JWT check (cached per token string until its expiry), one HMAC check and one
EVALSHA: one Redis round trip, on the lean pipelined client (nexuscart.redis.hot_client); PostgreSQL
is never touched here. Every call goes to the flash sale's Redis (flashsale.PURPOSE: FLASH_SALE_REDIS_URL,
or Redis Cluster), the same one its services, worker and warm-up use.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

from cachetools import TLRUCache
from django.conf import settings

from apps.promotion import flashsale, live
from nexuscart import snowflake
from nexuscart.active_users import ensure_active
from nexuscart.hotpath import HotError, HotRequest, HotResponse, HotRoute, authenticate, ok, problem_responses
from nexuscart.ratelimit import TokenBucket

TOKENS_PER_IP = TokenBucket("fs-token-ip", settings.FLASH_SALE_TOKEN_IP_RATE, settings.FLASH_SALE_TOKEN_IP_BURST)

_FAILURES = {
    "not_live": (409, "The flash sale is not live."),
    "sold_out": (409, "The flash sale is sold out."),
    "limit_exceeded": (422, "You have reached the purchase limit for this flash sale."),
    "token_used": (403, "The purchase token has already been used (or has expired)."),
    "token_foreign": (403, "The purchase token was issued to another user."),
}


# Authorization header -> (user id, token expiry); each entry leaves when its token expires, the
# least recently used first when full. One event loop per process touches it (no lock needed).
_verified: TLRUCache = TLRUCache(maxsize=50_000, ttu=lambda _key, value, _now: value[1], timer=time.time)


def _user_id(request: HotRequest) -> int:
    """authenticate(), remembered per access token until it expires: a shopper's token, purchase and
    status polls carry the same JWT, and its HMAC check is a third of a purchase's CPU."""
    header = request.headers.get("authorization", "")
    hit = _verified.get(header)
    if hit is not None:
        return hit[0]
    user_id = authenticate(request)
    try:
        claims = json.loads(base64.urlsafe_b64decode(header.split(".")[1] + "=="))
        expires = float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return user_id
    _verified[header] = (user_id, expires)
    return user_id


def _campaign_id(request: HotRequest) -> int:
    return int(request.params["campaign_id"])


def _throttled(retry_ms: int) -> HotError:
    seconds = max(1, -(-retry_ms // 1000))
    return HotError(429, "throttled", f"Too many requests; retry in {seconds} s.", {"Retry-After": str(seconds)})


async def issue_token(request: HotRequest) -> HotResponse:
    user_id = await ensure_active(_user_id(request))
    client = flashsale.async_client()
    per_ip = await TOKENS_PER_IP.ahit(client, request.client_ip or "unknown")
    if not per_ip.allowed:
        raise _throttled(per_ip.retry_after_ms)
    result, token, expires_ms = await flashsale.issue_token(
        client,
        campaign_id=_campaign_id(request),
        user_id=user_id,
        ttl_ms=settings.FLASH_SALE_TOKEN_TTL_SECONDS * 1000,
        rate=settings.FLASH_SALE_TOKEN_USER_RATE,
        burst=settings.FLASH_SALE_TOKEN_USER_BURST,
    )
    if result.code == "throttled":
        raise _throttled(result.value)
    if result.code != "ok":
        raise HotError(409, "not_live", "The flash sale is not live.")
    expires_at = datetime.fromtimestamp(expires_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    return ok({"token": token, "expires_at": expires_at}, status=201)


async def purchase(request: HotRequest) -> HotResponse:
    user_id = await ensure_active(_user_id(request))
    campaign_id = _campaign_id(request)
    body = request.json()
    token, quantity = body.get("token"), body.get("quantity", 1)
    if not isinstance(token, str) or not token:
        raise HotError(400, "validation_error", "A purchase token is required (POST .../token first).")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        raise HotError(400, "validation_error", "quantity must be an integer between 1 and 100.")
    try:
        claims = flashsale.token_verify(token, campaign_id=campaign_id, user_id=user_id)
    except flashsale.TokenRejected as exc:
        live.record_attempt(campaign_id, "bad_token")
        raise HotError(403, exc.code, exc.detail) from exc
    reservation_id = str(snowflake.next_id())
    result = await flashsale.purchase(
        flashsale.hot_client(),
        claims,
        quantity=quantity,
        reservation_id=reservation_id,
        rate=settings.FLASH_SALE_PURCHASE_USER_RATE,
        burst=settings.FLASH_SALE_PURCHASE_USER_BURST,
    )
    live.record_attempt(campaign_id, "reserved" if result.code == "ok" else result.code)  # metric + live view
    if result.code != "ok":
        if result.code == "throttled":
            raise _throttled(result.value)
        status, detail = _FAILURES.get(result.code, (409, result.code))
        raise HotError(status, result.code, detail)
    return ok({"reservation_id": reservation_id, "status": "reserved"}, status=202)


async def reservation_status(request: HotRequest) -> HotResponse:
    user_id = await ensure_active(_user_id(request))
    record = await flashsale.reservation_get(flashsale.async_client(), request.params["reservation_id"])
    if record is None or record.user_id != user_id:
        raise HotError(404, "not_found", "No such reservation.")
    body = {
        "reservation_id": record.reservation_id,
        "campaign_id": record.campaign_id,
        "status": record.status,
        "quantity": record.quantity,
        "order_id": record.order_id,
    }
    if record.status == "cancelled":  # the only answer that costs a second round trip
        reason = await flashsale.async_client().hget(flashsale.Keys(record.campaign_id).reasons, record.reservation_id)
        body["reason"] = reason.decode() if reason else "cancelled"
    return ok(body)


_CAMPAIGN = {"in": "path", "name": "campaign_id", "required": True, "schema": {"type": "integer", "minimum": 1}}
_SHOPPER = [{"jwtAuth": []}]
_AUTH_PROBLEMS = {"401": "No valid access token.", "403": "The account is disabled."}
_TOKEN_DOC = {
    "path": "/api/v1/flash-sales/{campaign_id}/token",
    "operationId": "flash_sale_token_create",
    "summary": "A short-lived, single-use purchase token (only while the sale is live)",
    "parameters": [_CAMPAIGN],
    "security": _SHOPPER,
    "responses": {
        "201": {
            "description": "The token and when it expires.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "token": {"type": "string"},
                            "expires_at": {"type": "string", "format": "date-time"},
                        },
                        "required": ["token", "expires_at"],
                    }
                }
            },
        },
        **problem_responses({**_AUTH_PROBLEMS, "409": "not_live", "429": "throttled (Retry-After)"}),
    },
}
_PURCHASE_DOC = {
    "path": "/api/v1/flash-sales/{campaign_id}/purchase",
    "operationId": "flash_sale_purchase_create",
    "summary": "Buy with a purchase token: one atomic Redis script; the order follows from the worker",
    "parameters": [_CAMPAIGN],
    "security": _SHOPPER,
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "token": {"type": "string", "minLength": 1, "maxLength": 200},
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
                    },
                    "required": ["token"],
                }
            }
        },
    },
    "responses": {
        "202": {
            "description": "Reserved; poll the reservation for its order.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "reservation_id": {"type": "string"},
                            "status": {"type": "string", "enum": ["reserved"]},
                        },
                        "required": ["reservation_id", "status"],
                    }
                }
            },
        },
        **problem_responses(
            {
                "400": "validation_error",
                "401": "No valid access token.",
                "403": "token_invalid, token_used, token_foreign or token_expired",
                "409": "sold_out or not_live",
                "422": "limit_exceeded",
                "429": "throttled (Retry-After)",
            }
        ),
    },
}
_RESERVATION_DOC = {
    "path": "/api/v1/flash-sales/reservations/{reservation_id}",
    "operationId": "flash_sale_reservation_retrieve",
    "summary": "A reservation's status: reserved, ordered (with its order id) or cancelled (with a reason)",
    "parameters": [
        {
            "in": "path",
            "name": "reservation_id",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]{1,20}$"},
        }
    ],
    "security": _SHOPPER,
    "responses": {
        "200": {
            "description": "The shopper's own reservation.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "reservation_id": {"type": "string"},
                            "campaign_id": {"type": "integer"},
                            "status": {"type": "string", "enum": ["reserved", "ordered", "cancelled"]},
                            "quantity": {"type": "integer"},
                            "order_id": {"type": "string", "nullable": True},
                            "reason": {"type": "string"},
                        },
                        "required": ["reservation_id", "campaign_id", "status", "quantity", "order_id"],
                    }
                }
            },
        },
        **problem_responses({**_AUTH_PROBLEMS, "404": "not_found (no such reservation of this shopper)"}),
    },
}

ROUTES = [
    HotRoute("POST", r"^/api/v1/flash-sales/(?P<campaign_id>[0-9]{1,18})/token$", issue_token, _TOKEN_DOC),
    HotRoute("POST", r"^/api/v1/flash-sales/(?P<campaign_id>[0-9]{1,18})/purchase$", purchase, _PURCHASE_DOC),
    HotRoute(
        "GET",
        r"^/api/v1/flash-sales/reservations/(?P<reservation_id>[0-9]{1,20})$",
        reservation_status,
        _RESERVATION_DOC,
    ),
]
