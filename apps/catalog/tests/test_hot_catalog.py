"""Cached catalog answers served by the thin ASGI layer (apps/catalog/hot.py), through uvicorn running
config.asgi: the same bytes and validators as Django, Django behind it for everything not cached."""

from __future__ import annotations

import re

import pytest
import requests
from django.middleware.csrf import _unmask_cipher_token

from apps.catalog import readcache, services
from apps.catalog.readcache import CATALOG, product_scope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def asgi_server(uvicorn_server, redis_client, shop, reindex) -> str:
    reindex()
    return uvicorn_server(SEARCH_INDEX_PREFIX=_prefix(), API_RATE_LIMIT="").url


def _prefix() -> str:
    from django.conf import settings

    return settings.SEARCH_INDEX_PREFIX


def _hot_served(base: str, route: str) -> int:
    """How many answers the hot layer itself gave for `route` (declined requests are not counted)."""
    total = 0.0
    for line in requests.get(f"{base}/metrics", timeout=5).text.splitlines():
        ours = line.startswith("nexuscart_hot_request_duration_seconds_count{") and f'route="{route}"' in line
        if ours and ('status="200"' in line or 'status="304"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


SAME = ("content-type", "etag", "last-modified", "cache-control", "allow", "x-frame-options", "x-content-type-options")


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/api/v1/products?category=clothing&sort=price", "product_list"),
        ("/api/v1/products/northwind-oxford-shirt", "product_detail"),
        ("/api/v1/categories", "category_tree"),
        ("/api/v1/search?q=shirt", "search"),
        ("/api/v1/search/suggest?q=nort", "suggest"),
    ],
)
def test_api_answers_are_served_from_the_hot_layer_once_django_built_them(asgi_server, path, route):
    url = asgi_server + path
    first = requests.get(url, timeout=5)  # not cached yet: Django builds and stores it
    assert first.status_code == 200, first.text
    assert _hot_served(asgi_server, route) == 0
    second = requests.get(url, timeout=5)
    assert _hot_served(asgi_server, route) == 1
    assert second.content == first.content
    assert {h: second.headers[h] for h in SAME} == {h: first.headers[h] for h in SAME}
    again = requests.get(url, headers={"If-None-Match": first.headers["etag"]}, timeout=5)
    assert (again.status_code, again.content) == (304, b"")
    assert _hot_served(asgi_server, route) == 2


def test_a_bumped_version_sends_the_request_back_to_django_which_serves_the_new_state(asgi_server):
    url = f"{asgi_server}/api/v1/products/summit-pocket-tee"
    assert requests.get(url, timeout=5).json()["variants"][0]["price"] == 1500
    services.variant_update(sku="TEE-M-GREY", price=1700)
    readcache.bump_now([CATALOG, product_scope("summit-pocket-tee")])  # what the consumer's handler does
    assert requests.get(url, timeout=5).json()["variants"][0]["price"] == 1700
    assert _hot_served(asgi_server, "product_detail") == 0
    assert requests.get(url, timeout=5).json()["variants"][0]["price"] == 1700
    assert _hot_served(asgi_server, "product_detail") == 1


def test_anonymous_pages_with_a_csrf_cookie_are_hot_served_with_the_visitors_own_token(asgi_server):
    http = requests.Session()
    url = f"{asgi_server}/p/northwind-oxford-shirt/"
    first = http.get(url, timeout=5)  # no cookie yet: Django answers and sets the CSRF cookie
    secret = http.cookies["csrftoken"]
    assert _hot_served(asgi_server, "product_page") == 0
    second = http.get(url, timeout=5)
    assert _hot_served(asgi_server, "product_page") == 1
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', second.text).group(1)
    assert _unmask_cipher_token(token) == secret
    assert "nc-csrf-placeholder" not in second.text
    for header in ("content-type", "cache-control", "etag", "x-frame-options", "vary"):
        assert second.headers[header] == first.headers[header], header
    # A first-time visitor (no cookie) is served here too, with a CSRF cookie as Django sets it.
    newcomer = requests.Session()
    fresh = newcomer.get(url, timeout=5)
    assert _hot_served(asgi_server, "product_page") == 2
    cookie = fresh.headers["set-cookie"]
    assert cookie.startswith("csrftoken=")
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', fresh.text).group(1)
    assert _unmask_cipher_token(token) == newcomer.cookies["csrftoken"]
    # A session (a signed-in shopper, a cart, messages) is Django's to answer.
    http.cookies.set("sessionid", "anything")
    http.get(url, timeout=5)
    assert _hot_served(asgi_server, "product_page") == 2
    assert http.head(url, timeout=5).status_code == 200  # other methods still reach Django


def test_through_the_edge_cached_reads_come_from_the_hot_path_and_the_rest_from_web(subprocess_env, shop, reindex):
    from tests.stack import stack_env, start_stack

    reindex()
    env = stack_env(subprocess_env, SEARCH_INDEX_PREFIX=_prefix(), API_RATE_LIMIT="")
    with start_stack(env, hot_workers=1) as stack:
        hot_metrics = f"http://127.0.0.1:{stack.topology.hot_port}"
        path = "/api/v1/products?category=clothing"
        first = stack.get(path)  # the hot path declines (418), the edge asks web: Django builds it
        assert first.status_code == 200, first.text
        assert _hot_served(hot_metrics, "product_list") == 0
        second = stack.get(path)
        assert (second.status_code, second.content) == (200, first.content)
        assert second.headers["etag"] == first.headers["etag"]
        assert _hot_served(hot_metrics, "product_list") == 1
        # A shopper with a session: the hot path declines, web (Django) renders the page.
        page = stack.get("/c/clothing/", cookies={"sessionid": "nope", "csrftoken": "a" * 32})
        assert page.status_code == 200
        assert "Northwind Oxford Shirt" in page.text
        assert _hot_served(hot_metrics, "listing_page") == 0
        missing = stack.get("/api/v1/products/no-such-product")
        assert (missing.status_code, missing.json()["code"]) == (404, "product_not_found")
