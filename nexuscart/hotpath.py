"""A thin ASGI layer for the few hot endpoints, in front of Django's ASGI application.

Django's request handler costs ≈0.7 ms of CPU per request on our 2-core machines; the
flash-sale token/purchase/status endpoints and the inventory read must do far better, so
they are plain async functions routed here. They share Django's settings, verify the same
JWTs as the API (HS256, SIMPLE_JWT's key and claims) and answer the same problem+json.
Every other path falls through to Django.

An app contributes routes by defining `ROUTES = [HotRoute("GET", r"^/api/v1/...$", handler)]`
in its `hot.py`; config.asgi collects them with `discover_routes()`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from django.conf import settings

from nexuscart import client_ip, jwt_keys, ratelimit, snowflake
from nexuscart import redis as nc_redis
from nexuscart.errors import PROBLEM_CONTENT_TYPE, problem
from nexuscart.observability import metrics

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class HotError(Exception):
    """Raise from a hot handler to answer a problem+json (the same codes the Django API uses)."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers or {}


@dataclass
class HotRequest:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    params: dict[str, str]
    # The client address (nexuscart.client_ip), resolved from `scope` on first use: only a few
    # routes need it (the token's per-IP limit), and parsing addresses was ~10% of a purchase.
    resolved_ip: str | None
    query_string: str = ""  # as received (`query` drops blank values)
    scope: dict | None = field(default=None, repr=False)

    @property
    def client_ip(self) -> str:
        if self.resolved_ip is None:
            # From the scope's raw headers: every X-Forwarded-For line, as before (`headers` keeps one).
            self.resolved_ip = client_ip.from_scope(self.scope or {})
        return self.resolved_ip

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise HotError(400, "malformed_request", f"JSON parse error - {exc}") from exc
        if not isinstance(data, dict):
            raise HotError(400, "validation_error", "The request body must be a JSON object.")
        return data


@dataclass
class HotResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


# A handler may answer None: "not mine after all" (e.g. a cache miss), and Django serves the request.
Handler = Callable[[HotRequest], Awaitable[HotResponse | None]]


@dataclass(frozen=True)
class HotRoute:
    method: str
    pattern: str
    handler: Handler
    # The route's OpenAPI operation, with its path template under "path": Django never sees these
    # routes, so nexuscart.openapi.add_hot_routes puts them in the schema from here.
    openapi: dict | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


def problem_responses(described: dict[str, str]) -> dict:
    """OpenAPI responses {status: description} answered as RFC 9457 problem+json, as HotError does."""
    schema = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
        },
        "required": ["status", "code"],
    }
    return {
        status: {"description": text, "content": {"application/problem+json": {"schema": schema}}}
        for status, text in described.items()
    }


def discover_routes(app_modules: list[str] | None = None) -> list[HotRoute]:
    """ROUTES from the `hot` module of every installed app that has one."""
    routes: list[HotRoute] = []
    for app in app_modules or settings.INSTALLED_APPS:
        try:
            module = importlib.import_module(f"{app}.hot")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.hot":
                raise
            continue
        routes.extend(getattr(module, "ROUTES", []))
    return routes


def authenticate(request: HotRequest) -> int:
    """The user id of a valid access token in `Authorization: Bearer`, or a 401 problem."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HotError(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            {"WWW-Authenticate": 'Bearer realm="api"'},
        )
    jwt_settings = settings.SIMPLE_JWT
    try:
        claims = jwt_keys.decode(
            token.strip(), options={"require": ["exp", "token_type", jwt_settings["USER_ID_CLAIM"]]}
        )
    except jwt.PyJWTError as exc:
        raise HotError(
            401,
            "authentication_failed",
            "Given token not valid for any token type.",
            {"WWW-Authenticate": 'Bearer realm="api"'},
        ) from exc
    if claims.get("token_type") != "access":
        raise HotError(401, "authentication_failed", "Given token not valid for any token type.")
    try:
        return int(claims[jwt_settings["USER_ID_CLAIM"]])
    except (TypeError, ValueError) as exc:
        raise HotError(401, "authentication_failed", "Token contained no recognizable user identification") from exc


class HotRouter:
    """ASGI app: matching hot routes are served here, everything else by `fallback` (Django)."""

    def __init__(self, routes: list[HotRoute], fallback: Callable) -> None:
        self.routes = [(r.method, r.regex, r.handler) for r in routes]
        self.fallback = fallback

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            path_matched = False
            for method, regex, handler in self.routes:
                match = regex.match(scope["path"])
                if match is None:
                    continue
                if method == scope["method"]:
                    await self._serve(scope, receive, send, handler, match.groupdict())
                    return
                path_matched = True
            if path_matched:
                detail = f'Method "{scope["method"]}" not allowed.'
                await self._send(send, _problem(405, "method_not_allowed", detail))
                return
        await self.fallback(scope, receive, send)

    async def _serve(self, scope: dict, receive: Callable, send: Callable, handler: Handler, params: dict) -> None:
        started = time.perf_counter()
        try:
            body = await _read_body(receive)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            request = HotRequest(
                method=scope["method"],
                path=scope["path"],
                headers=headers,
                query=parse_qs(scope.get("query_string", b"").decode("latin-1")),
                body=body,
                params=params,
                resolved_ip=None,
                query_string=scope.get("query_string", b"").decode("latin-1"),
                scope=scope,
            )
            response = await handler(request)
            if response is None:
                await self.fallback(scope, _replay(body, receive), send)
                return
        except HotError as exc:
            response = _problem(exc.status, exc.code, exc.detail, exc.headers)
        except nc_redis.UNAVAILABLE_ERRORS as exc:
            # Redis stalled or down: fail fast and say so; the client retries (nexuscart.redis timeouts).
            logger.warning("hot path: Redis unavailable", extra={"error": repr(exc)})
            detail = "A backing service is unavailable; retry shortly."
            response = _problem(503, "service_unavailable", detail, {"Retry-After": "1"})
        except Exception:  # never leak internals; Django's handler500 says the same
            logger.exception("hot path handler failed")
            response = _problem(500, "internal_error", "An unexpected error occurred; it has been logged.")
        response = await _api_limited(scope, response)
        await self._send(send, response)
        metrics.HOT_REQUEST_SECONDS.labels(handler.__name__, scope["method"], str(response.status)).observe(
            time.perf_counter() - started
        )

    @staticmethod
    async def _send(send: Callable, response: HotResponse) -> None:
        # bytes: an already rendered representation (e.g. a cached catalog answer), sent as is.
        body = response.body
        payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        headers = [(b"content-type", response.content_type.encode()), (b"content-length", str(len(payload)).encode())]
        headers += [(k.lower().encode(), str(v).encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    async def _lifespan(receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:  # the snowflake lease, off the event loop, before the first purchase needs it
                    await asyncio.to_thread(snowflake.prime)
                except Exception as exc:  # Redis down at start: the first id leases it instead
                    logger.warning("snowflake lease at start-up failed", extra={"error": repr(exc)})
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await nc_redis.aclose_loop_clients()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _api_limited(scope: dict, response: HotResponse) -> HotResponse:
    """The general API limit (API_RATE_LIMIT, nexuscart.ratelimit) on what the hot path answered,
    errors included, as Django's middleware applies it to Django's routes."""
    if not ratelimit.hot_api_limit_applies(scope["path"], response.status):
        return response
    authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
    limit = await ratelimit.hot_api_limit(authorization, client_ip.from_scope(scope))
    if limit is None:
        return response
    if not limit.allowed:
        response = _problem(429, "throttled", f"Too many requests; retry in {limit.retry_after_seconds} s.")
    # a new response: a handler may hand out a cached one, shared between requests
    return HotResponse(response.status, response.body, {**response.headers, **limit.headers()}, response.content_type)


async def _read_body(receive: Callable) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HotError(413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Callable) -> Callable:
    """`receive` for the fallback after a handler declined: the body it already read, then the rest."""
    sent = False

    async def again() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> HotResponse:
    return HotResponse(status, problem(status, code, detail), headers or {}, PROBLEM_CONTENT_TYPE)


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HotResponse:
    return HotResponse(status, body, headers or {})
