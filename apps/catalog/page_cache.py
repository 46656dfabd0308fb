"""Whole storefront pages for anonymous shoppers, served from readcache with ETag / 304.

A signed-in shopper's page carries their data (menu, messages), so it is rendered each time from
the cached shared fragments (apps/catalog/read_models.py) instead. An anonymous page is the same
for everyone except the CSRF token of its forms: it is cached with a placeholder in the token's
place and each response gets this visitor's token (a string replace), so a cached page never
hands one visitor's token to another. Pending flash messages make a page personal: not cached.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers

from apps.catalog import readcache
from apps.catalog.http import rendered, respond

CSRF_PLACEHOLDER = "nc-csrf-placeholder-3b9f1c"
# Browsers keep the page but ask each time (a 304 when nothing changed); shared caches never
# store it (it carries a CSRF token).
PAGE_CACHE_CONTROL = "private, no-cache"
_FLAG = "_nc_page_cache"


def cacheable(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD") or request.COOKIES.get("messages"):
        return False
    if request.user.is_authenticated:
        return False
    return not (settings.SESSION_COOKIE_NAME in request.COOKIES and request.session.get("_messages"))


def context(request: HttpRequest, values: dict) -> dict:
    """The template context, with the token placeholder when the page is rendered for the cache."""
    return {**values, "csrf_token": CSRF_PLACEHOLDER} if getattr(request, _FLAG, False) else values


def page_key(full_path: str, max_age: float | None) -> str:
    """The page's cache key; with `max_age`, one per period of that length. Each path's periods are
    shifted by a fixed offset of its own, so the pages do not all expire (and rebuild) at one instant."""
    if not max_age:
        return full_path
    offset = int.from_bytes(hashlib.blake2b(full_path.encode(), digest_size=4).digest(), "big") % 1000 / 1000
    return f"{full_path}#{int(time.time() / max_age + offset)}"


def page_etag(etag: str, csrf_secret: str) -> str:
    """The page differs per visitor only by the token, which follows their CSRF cookie."""
    return f'{etag[:-1]}-{hashlib.blake2b(csrf_secret.encode(), digest_size=4).hexdigest()}"'


class _NotCacheable(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def anonymous_page(scopes: Callable[..., tuple[str, ...]], *, max_age: float | None = None) -> Callable:
    """Serve the view's 200 answers for anonymous shoppers from the cache (other answers pass through).

    `max_age` bounds the age of a cached page whose content also depends on something no event
    announces (the product page's flash-sale note, which promotion computes from the clock).
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not cacheable(request):
                return view(request, *args, **kwargs)
            setattr(request, _FLAG, True)

            def build():
                response = view(request, *args, **kwargs)
                if response.status_code != 200 or response.streaming:
                    raise _NotCacheable(response)
                return rendered(response.content, response["Content-Type"])

            token = get_token(request).encode()
            key = page_key(request.get_full_path(), max_age)
            try:
                rep = readcache.get_or_build("page", key, build, scopes=scopes(*args, **kwargs))
            except _NotCacheable as exc:
                response = exc.response
                if not response.streaming and response.content:
                    response.content = response.content.replace(CSRF_PLACEHOLDER.encode(), token)
                return response
            # The page differs per visitor only by the token, which follows their CSRF cookie.
            etag = page_etag(rep.etag, request.META.get("CSRF_COOKIE", ""))
            response = respond(
                request,
                rep,
                cache_control=PAGE_CACHE_CONTROL,
                etag=etag,
                body=rep.body.replace(CSRF_PLACEHOLDER.encode(), token),
            )
            patch_vary_headers(response, ["Cookie"])
            return response

        return wrapper

    return decorate
