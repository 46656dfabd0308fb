"""Whole storefront pages for anonymous shoppers, served from readcache with ETag / 304.

A signed-in shopper's page carries their data (menu, messages), so it is rendered each time from
the cached shared fragments (apps/catalog/read_models.py) instead. An anonymous page is the same
for everyone except the CSRF token of its forms: it is cached with a placeholder in the token's
place and each response gets this visitor's token (a string replace), so a cached page never
hands one visitor's token to another. Pending flash messages make a page personal: not cached.
"""

from __future__ import annotations

import hashlib
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


def page_etag(etag: str, csrf_secret: str) -> str:
    """The page differs per visitor only by the token, which follows their CSRF cookie."""
    return f'{etag[:-1]}-{hashlib.blake2b(csrf_secret.encode(), digest_size=4).hexdigest()}"'


class _NotCacheable(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def anonymous_page(scopes: Callable[..., tuple[str, ...]]) -> Callable:
    """Serve the view's 200 answers for anonymous shoppers from the cache (other answers pass through).

    Cached under the full path and the versions of `scopes(*view_args)` (and of what the build
    recorded with readcache.depends_on) until an event bumps one: everything a page shows must be
    announced by an event (the hot layer, apps/catalog/hot.py, serves the same entries).
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
            try:
                rep = readcache.get_or_build("page", request.get_full_path(), build, scopes=scopes(*args, **kwargs))
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
