"""The hot inventory read, through the real ASGI app served by uvicorn on a loopback port."""

import time

import pytest
import requests

from apps.inventory import services
from apps.inventory.tests.factories import sku_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def asgi_server(uvicorn_server, redis_client) -> str:
    return uvicorn_server(INVENTORY_HOT_CACHE_TTL="0.5").url


def _available_within(url: str, expected: int, seconds: float) -> float | None:
    """Seconds until GET url shows `expected`, or None if it did not within `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if requests.get(url, timeout=2).json().get("available") == expected:
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def test_inventory_read_is_fresh_within_a_second(asgi_server, redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 5}, reason="seed")
    url = f"{asgi_server}/api/v1/inventory/{sku}"
    first = requests.get(url, timeout=2)
    assert first.status_code == 200
    assert first.json() == {"sku": sku, "available": 5}
    services.stock_reserve(reference="order:hot-1", lines={sku: 2}, actor="test")
    assert _available_within(url, 3, 1.0) is not None
    services.stock_adjust(sku=sku, delta=10, reason="receipt", actor="staff")
    assert _available_within(url, 13, 1.0) is not None


def test_cold_key_is_filled_from_postgres_and_unknown_sku_is_404(asgi_server, redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 4}, reason="seed")
    redis_client.delete(f"inv:{{{sku}}}:available", f"inv:{{{sku}}}:version")
    assert requests.get(f"{asgi_server}/api/v1/inventory/{sku}", timeout=2).json()["available"] == 4
    assert redis_client.get(f"inv:{{{sku}}}:available") == b"4"
    missing = requests.get(f"{asgi_server}/api/v1/inventory/NO-SUCH-SKU", timeout=2)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
