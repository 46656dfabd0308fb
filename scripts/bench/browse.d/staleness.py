"""While load runs: a staff price change, and how long until the API shows it (through the edge).

    python scripts/bench/browse.d/staleness.py BASE_URL [--after 4] [--times 3]

Changes a variant's price with the catalog service the admin uses (PostgreSQL commit, then the
event's trip outbox -> relay -> Kafka -> catalog consumer -> version bump), polls
GET /api/v1/products/{slug} every 5 ms and prints
`STALENESS max_ms=<n> all_ms=<a,b,c> first_event_ms=<w>`.

One change is made at once, not measured (first_event_ms): the stack starts with the seed's
events dropped from the relay queue, so it is the relay's and the consumer's first event ever (their first Kafka
round trip, connections, the handler's first run), which an open shop's event path is past.
"""

from __future__ import annotations

import argparse
import time

import django
import requests

django.setup()

from apps.catalog import services  # noqa: E402
from apps.catalog.models import Variant  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--after", type=float, default=4.0)
    parser.add_argument("--times", type=int, default=3)
    args = parser.parse_args()
    http = requests.Session()
    variants = list(Variant.objects.select_related("product").filter(is_active=True).order_by("id")[:50])
    first = _change(http, args.base, variants[-1], 99)  # the event path's first event: not measured
    time.sleep(max(0.0, args.after - first / 1000))
    lags = []
    for i in range(args.times):
        lags.append(_change(http, args.base, variants[i * 7 % len(variants)], 100 + i))
        time.sleep(1.0)
    print(
        f"STALENESS max_ms={max(lags):.0f} all_ms={','.join(f'{x:.0f}' for x in lags)} first_event_ms={first:.0f}",
        flush=True,
    )


def _change(http: requests.Session, base: str, v: Variant, step: int) -> float:
    """Raise the variant's price by `step` cents; ms until GET /api/v1/products/{slug} shows it."""
    url = f"{base}/api/v1/products/{v.product.slug}"
    http.get(url, timeout=5)  # cached with the old price
    new_price = v.price + step
    services.variant_update(sku=v.sku, price=new_price)
    changed = time.monotonic()
    while True:
        body = http.get(url, timeout=5).json()
        if any(x["sku"] == v.sku and x["price"] == new_price for x in body["variants"]):
            return (time.monotonic() - changed) * 1000
        if time.monotonic() - changed > 30:
            raise SystemExit(f"STALENESS price change on {v.sku} not visible after 30 s")
        time.sleep(0.005)


if __name__ == "__main__":
    main()
