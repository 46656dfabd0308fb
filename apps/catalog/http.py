"""Conditional GET for cached representations: strong ETags, Last-Modified and 304s.

A `Rendered` is what readcache stores for an HTTP representation: the body, its type and an ETag
computed once from the body. `respond` answers 304 when the client's copy is current
(If-None-Match wins over If-Modified-Since, as RFC 9110 says) and sets the validators otherwise.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str
    last_modified: int  # epoch seconds: when this representation was built


def request_key(host: str, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The cache key of an API request: host (the `next` links are absolute), path, sorted query.
    Django's views and the hot path (apps/catalog/hot.py) compute it the same way."""
    return f"{host}{path}?{urlencode(sorted(pairs))}"


def rendered(body: bytes, content_type: str) -> Rendered:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return Rendered(body=body, content_type=content_type, etag=etag, last_modified=int(time.time()))


def etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): a proxy may have weakened our tag with W/.
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def conditional_hit(if_none_match: str | None, if_modified_since: str, etag: str, last_modified: int) -> bool:
    """Whether a conditional GET's validators still match (If-None-Match wins over If-Modified-Since).

    Shared by Django's views (not_modified) and the thin ASGI layer (apps/catalog/hot.py).
    """
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    ims = parse_http_date_safe(if_modified_since)
    return ims is not None and last_modified <= ims


def not_modified(request: HttpRequest, etag: str, last_modified: int) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    return conditional_hit(
        request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since", ""), etag, last_modified
    )


def respond(
    request: HttpRequest,
    rep: Rendered,
    *,
    cache_control: str,
    etag: str | None = None,
    body: bytes | None = None,
) -> HttpResponse:
    """200 with the representation (or `body`, a per-request variant of it), or 304."""
    tag = etag or rep.etag
    if not_modified(request, tag, rep.last_modified):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(rep.body if body is None else body, content_type=rep.content_type)
    response["ETag"] = tag
    response["Last-Modified"] = http_date(rep.last_modified)
    response["Cache-Control"] = cache_control
    return response
