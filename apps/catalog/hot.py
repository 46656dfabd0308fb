"""Cached catalog representations served from the thin ASGI layer (nexuscart.hotpath), outside Django.

Django builds every representation and stores it in readcache (L1 in-process, L2 Redis) under the
versions events bump; this layer only *serves* what is already there: the same bytes, ETag,
Last-Modified, Cache-Control and 304s as Django would answer. Anything it cannot answer exactly
as Django would (not cached yet, a version not initialised, a session: a signed-in shopper, a cart,
a page with pending messages) it declines, and Django serves it. A first-time visitor gets a new CSRF
cookie exactly as Django's middleware would set it.

Routes: GET /api/v1/products, /api/v1/products/{slug}, /api/v1/categories, /api/v1/search,
/api/v1/search/suggest, and the anonymous storefront pages /, /c/{path}/, /p/{slug}/, /search.
"""

from __future__ import annotations

import pickle
import re
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpResponse

# The secret and token formats of Django's CSRF middleware, so a page served here is one it accepts.
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.utils.http import http_date

from apps.catalog import read_models, readcache
from apps.catalog.http import Rendered, conditional_hit, request_key
from apps.catalog.page_cache import CSRF_PLACEHOLDER, PAGE_CACHE_CONTROL, page_etag
from apps.catalog.readcache import CATALOG, STRUCTURE
from nexuscart import redis as nc_redis
from nexuscart.hotpath import HotRequest, HotResponse, HotRoute

API_CACHE_CONTROL = "public, max-age=0, must-revalidate"
_SAFE_PATH = re.compile(r"^[A-Za-z0-9/_.\-]*$")
_CSRF_SECRET = re.compile(r"^[A-Za-z0-9]{32}$")
# What Django's middleware adds to every answer (SecurityMiddleware, XFrameOptionsMiddleware).
_DJANGO_HEADERS = {
    **({"X-Content-Type-Options": "nosniff"} if settings.SECURE_CONTENT_TYPE_NOSNIFF else {}),
    **({"Referrer-Policy": settings.SECURE_REFERRER_POLICY} if settings.SECURE_REFERRER_POLICY else {}),
    **(
        {"Cross-Origin-Opener-Policy": settings.SECURE_CROSS_ORIGIN_OPENER_POLICY}
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
        else {}
    ),
    "X-Frame-Options": settings.X_FRAME_OPTIONS,
}
_PAGE_HEADERS = {**_DJANGO_HEADERS, "Vary": "Cookie"}
# DRF's APIView adds Allow to every answer of these read-only views.
_API_HEADERS = {**_DJANGO_HEADERS, "Allow": "GET, HEAD, OPTIONS"}


async def _versions(scopes: tuple[str, ...]) -> tuple[int, ...] | None:
    local = readcache.local_versions(scopes)
    if local is not None:
        return local
    raw = await nc_redis.async_client().mget([readcache.version_cache_key(s) for s in scopes])
    if any(value is None for value in raw):
        return None  # never used yet: Django initialises it
    found = {scope: int(value) for scope, value in zip(scopes, raw, strict=True)}
    readcache.remember_versions(found)
    return tuple(found[s] for s in scopes)


async def _cached(name: str, key: str, scopes: tuple[str, ...]) -> Rendered | None:
    if not settings.CATALOG_READ_CACHE:
        return None
    stamp = await _versions((readcache.SEQ, *scopes))
    if stamp is None:
        return None
    seq, *versions = stamp
    local_key, redis_key = readcache.value_cache_key(name, key, tuple(versions))
    entry = readcache.local_get(local_key)
    if entry is None:
        raw = await nc_redis.async_client().get(redis_key)
        if raw is None:
            return None
        entry = pickle.loads(raw)  # noqa: S301 -- our own cache (django-redis' pickle serializer)
        if not isinstance(entry, readcache.Entry):
            return None
        readcache.local_put(local_key, entry)
    if entry.seq < seq and entry.deps and not readcache.checked(local_key, entry, seq):
        # Something was bumped since it was built: current if none of what it shows was.
        found = await _versions(tuple(entry.deps))
        if not readcache.current(entry, seq, lambda _: found, key=local_key):
            return None  # Django rebuilds it (a dependency Redis does not know yet included)
    return entry.value if isinstance(entry.value, Rendered) else None


def _not_modified(request: HotRequest, etag: str, last_modified: int) -> bool:
    return conditional_hit(
        request.headers.get("if-none-match"), request.headers.get("if-modified-since", ""), etag, last_modified
    )


def _answer(
    request: HotRequest, rep: Rendered, *, cache_control: str, etag: str | None = None, body: bytes | None = None
) -> HotResponse:
    tag = etag or rep.etag
    headers = {"ETag": tag, "Last-Modified": http_date(rep.last_modified), "Cache-Control": cache_control}
    if _not_modified(request, tag, rep.last_modified):
        return HotResponse(304, b"", headers, rep.content_type)
    return HotResponse(200, rep.body if body is None else body, headers, rep.content_type)


def _scheme(request: HotRequest) -> str:
    """As Django's request.scheme: https only when the trusted proxy header says so."""
    header = settings.SECURE_PROXY_SSL_HEADER
    if header:
        name = header[0].removeprefix("HTTP_").replace("_", "-").lower()
        return "https" if request.headers.get(name, "").split(",")[0].strip() == header[1] else "http"
    return "http"


def _api_key(request: HotRequest, *, with_host: bool = True) -> str | None:
    host = request.headers.get("host", "")
    if not host or not _SAFE_PATH.match(request.path):
        return None
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    return request_key(f"{_scheme(request)}://{host}" if with_host else "", request.path, pairs)


async def _api(
    request: HotRequest, name: str, scopes: tuple[str, ...], *, hit_header: bool = False, with_host: bool = True
):
    key = _api_key(request, with_host=with_host)
    rep = await _cached(name, key, scopes) if key else None
    if rep is None:
        return None
    response = _answer(request, rep, cache_control=API_CACHE_CONTROL)
    response.headers.update(_API_HEADERS)
    if hit_header:
        response.headers["X-Cache"] = "hit"
    return response


async def product_list(request: HotRequest) -> HotResponse | None:
    return await _api(request, "api-products", (CATALOG,))


async def product_detail(request: HotRequest) -> HotResponse | None:
    slug = request.params["slug"]
    return await _api(request, "api-product", read_models.product_scopes(slug), with_host=False)  # as Django's


async def category_tree(request: HotRequest) -> HotResponse | None:
    return await _api(request, "api-categories", (STRUCTURE,))


async def search(request: HotRequest) -> HotResponse | None:
    return await _api(request, "api-search", (CATALOG,), hit_header=True)


async def suggest(request: HotRequest) -> HotResponse | None:
    return await _api(request, "api-suggest", (CATALOG,))


def _cookies(request: HotRequest) -> dict[str, str]:
    found = {}
    for part in request.headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            found[name] = value
    return found


def _csrf_cookie(secret: str) -> str:
    """The Set-Cookie Django's CsrfViewMiddleware sends with a new secret (same name and attributes)."""
    carrier = HttpResponse()
    carrier.set_cookie(
        settings.CSRF_COOKIE_NAME,
        secret,
        max_age=settings.CSRF_COOKIE_AGE,
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,
    )
    return carrier.cookies[settings.CSRF_COOKIE_NAME].OutputString()


async def _page(request: HotRequest, scopes: tuple[str, ...]) -> HotResponse | None:
    cookies = _cookies(request)
    # A session may hold a signed-in shopper or flash messages: Django answers those.
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies or settings.CSRF_USE_SESSIONS:
        return None
    secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
    set_cookie = None
    if not _CSRF_SECRET.match(secret):
        # A first visit: a new CSRF secret, as Django's middleware would set it.
        secret = _get_new_csrf_string()
        set_cookie = _csrf_cookie(secret)
    if not _SAFE_PATH.match(request.path):
        return None
    full_path = request.path + (f"?{request.query_string}" if request.query_string else "")
    rep = await _cached("page", full_path, scopes)  # the key page_cache.anonymous_page stores it under
    if rep is None:
        return None
    token = _mask_cipher_secret(secret).encode()
    response = _answer(
        request,
        rep,
        cache_control=PAGE_CACHE_CONTROL,
        etag=page_etag(rep.etag, secret),
        body=rep.body.replace(CSRF_PLACEHOLDER.encode(), token),
    )
    response.headers.update(_PAGE_HEADERS)
    if set_cookie:
        response.headers["Set-Cookie"] = set_cookie
    return response


async def home_page(request: HotRequest) -> HotResponse | None:
    return await _page(request, (CATALOG,))


async def listing_page(request: HotRequest) -> HotResponse | None:
    return await _page(request, (CATALOG,))


async def product_page(request: HotRequest) -> HotResponse | None:
    return await _page(request, read_models.product_page_scopes(request.params["slug"]))


async def _decline(request: HotRequest) -> None:
    """Other methods on these paths: Django answers them (HEAD, a 405, ...) exactly as before."""
    return None


# Behind the edge (docker/nginx/routes.conf) a declined request is better served by the web servers
# (gunicorn's threads) than by this process's Django: the edge says so with this header, and a 418
# sends the request there (nginx error_page). Without it, Django answers in this process.
DECLINE_HEADER = "x-nc-decline-status"


def _edge_aware(handler):
    async def serve(request: HotRequest) -> HotResponse | None:
        response = await handler(request)
        if response is None and request.headers.get(DECLINE_HEADER) == "418":
            return HotResponse(418, b"", {}, "text/plain")
        return response

    serve.__name__ = handler.__name__  # the hot path's metrics label routes by handler name
    return serve


_GET = {
    r"^/api/v1/products$": product_list,
    r"^/api/v1/products/(?P<slug>[-a-zA-Z0-9_]+)$": product_detail,
    r"^/api/v1/categories$": category_tree,
    r"^/api/v1/search$": search,
    r"^/api/v1/search/suggest$": suggest,
    r"^/$": home_page,
    r"^/c/.+/$": listing_page,
    r"^/search/?$": listing_page,
    r"^/p/(?P<slug>[-a-zA-Z0-9_]+)/$": product_page,
}
ROUTES = [HotRoute("GET", pattern, _edge_aware(handler)) for pattern, handler in _GET.items()] + [
    HotRoute(method, pattern, _edge_aware(_decline))
    for pattern in _GET
    for method in ("HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
]
