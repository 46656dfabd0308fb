"""The drain part of scripts/bench/flash_sale: a sell-out of >= 20,000 units turned into orders.

Two sales of the same size are sold out in Redis (through the purchase script itself, the very
one the hot endpoint runs, pipelined so filling takes seconds), then drained:
  * by the batch order writer (ReservationWorker: 500 reservations per XREADGROUP, one
    transaction of multi-row INSERTs per batch, one pipelined mark-and-XACK);
  * by the one-by-one baseline (one reservation, one transaction, one mark-and-ack at a time,
    as the worker did before the batch writer), for a bounded time, then the rest by the writer.
Rate = orders created per second from the worker's first read to its last order. The invariants
are checked after both (orders = reservations, none twice, reconciliation clean).

    scripts/bench/flash_sale --drain-only [--drain-units N]   (or as part of the full run)
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.utils import timezone

from apps.catalog import services as catalog_services
from apps.inventory import services as inventory_services
from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.promotion import flashsale
from apps.promotion import services as promotion_services
from nexuscart.snowflake import next_id

PROFILE_PATH = Path(__file__).resolve().parents[2] / ".local" / "log" / "bench-flash-sale-drain.prof"


@dataclass
class DrainResult:
    label: str
    units: int
    drained: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.drained / self.seconds if self.seconds else 0.0


class OneByOneWorker(order_services.ReservationWorker):
    """The baseline: each reservation in its own transaction and its own mark-and-ack round trip."""

    def process(self, terms, entries) -> None:
        for entry in entries:
            order = order_services.order_create_for_flash_sale(
                reservation_id=entry.reservation_id,
                campaign_id=terms.campaign_id,
                user_id=entry.user_id,
                sku=terms.sku,
                quantity=entry.quantity,
                unit_price=terms.price,
                currency=terms.currency,
            )
            promotion_services.flash_sale_reservations_ordered(
                campaign_id=terms.campaign_id, ordered=[(entry, int(order.id))]
            )
            self.created += 1


def _campaign(quantity: int, per_user_limit: int):
    tag = uuid.uuid4().hex[:8].upper()
    category = catalog_services.category_create(name=f"Bench drain {tag}")
    sku = f"FSDRAIN-{tag}"
    catalog_services.product_create(
        name=f"Bench drain gadget {tag}",
        category_id=category.pk,
        variants=[catalog_services.VariantInput(sku=sku, name="Standard", price=9900)],
    )
    inventory_services.stock_bulk_set(levels={sku: quantity}, reason="flash-sale drain benchmark")
    starts = timezone.now() - timezone.timedelta(seconds=1)
    campaign = promotion_services.flash_sale_campaign_create(
        sku=sku,
        price=1999,
        quantity=quantity,
        starts_at=starts,
        ends_at=starts + timezone.timedelta(minutes=30),
        per_user_limit=per_user_limit,
        actor="bench",
    )
    return promotion_services.flash_sale_campaign_warmup(campaign_id=campaign.id)


def sell_out_in_redis(campaign_id: int, user_ids: list[int], quantity: int) -> int:
    """Buy every unit through the purchase script (token set, EVALSHA), pipelined. Units sold.

    A chunk whose EVALSHA Redis refused (another process's SCRIPT FLUSH on the shared server) is
    bought again with fresh tokens, from the next shoppers on."""
    client = flashsale.sync_client()
    expires = flashsale.now_ms() + 600_000
    sold, shopper = 0, 0
    for _ in range(quantity // 500 + 20):
        if sold >= quantity:
            break
        flashsale.PURCHASE.load(client)
        pipe = client.pipeline(transaction=False)
        for _ in range(min(2000, quantity - sold)):
            user_id = user_ids[shopper % len(user_ids)]
            shopper += 1
            _, nonce = flashsale.token_encode(campaign_id=campaign_id, user_id=user_id, expires_ms=expires)
            claims = flashsale.TokenClaims(campaign_id, user_id, expires, nonce)
            keys, args = flashsale.purchase_keys_args(
                claims, quantity=1, reservation_id=str(next_id()), rate=1_000_000, burst=1_000_000
            )
            pipe.set(flashsale.Keys(campaign_id).token(nonce), user_id, px=600_000)
            pipe.evalsha(flashsale.PURCHASE.sha, len(keys), *keys, *args)
        replies = pipe.execute(raise_on_error=False)
        sold += sum(1 for reply in replies[1::2] if not isinstance(reply, Exception) and reply[0] == b"ok")
    return sold


def _drain(worker, campaign_id: int, units: int, budget_s: float | None, profile: bool = False) -> tuple[int, float]:
    started = time.monotonic()

    def done() -> bool:
        return worker.created >= units or (budget_s is not None and time.monotonic() - started > budget_s)

    profiler = cProfile.Profile() if profile else None
    connection.ensure_connection()
    backend, backend_cpu, own_cpu = connection.connection.info.backend_pid, _pid_cpu(connection), time.process_time()
    if profiler:
        profiler.enable()
    worker.run(should_stop=done, idle_timeout=5.0)
    seconds = time.monotonic() - started
    if worker.created and connection.connection is not None and connection.connection.info.backend_pid == backend:
        # CPU per order, which the shared box's load does not move as it moves the wall clock.
        python_us = (time.process_time() - own_cpu) / worker.created * 1e6
        postgres_us = (_pid_cpu(connection) - backend_cpu) / worker.created * 1e6
        name = type(worker).__name__
        print(f"  {name}: CPU per order: python {python_us:.0f} us, postgres backend {postgres_us:.0f} us", flush=True)
    if profiler:
        profiler.disable()
        profiler.dump_stats(PROFILE_PATH)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue(), flush=True)
    return worker.created, seconds


def _drain_parallel(campaign_id: int, units: int, writers: int) -> tuple[int, float]:
    """`writers` batch writers in threads, as `manage.py flashsale_worker` runs them (run_writers)."""
    workers = [
        order_services.ReservationWorker(campaign_ids=[campaign_id], consumer=f"bench-batch-{i}")
        for i in range(writers)
    ]
    started = time.monotonic()
    order_services.run_writers(workers, idle_timeout=5.0, should_stop=lambda: sum(w.created for w in workers) >= units)
    return sum(w.created for w in workers), time.monotonic() - started


def _pid_cpu(conn) -> float:
    """CPU seconds the PostgreSQL backend of `conn` used so far (same machine: /proc)."""
    pid = conn.connection.info.backend_pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _invariants(campaign_id: int, units: int) -> list[tuple[str, bool]]:
    client = flashsale.sync_client()
    records = flashsale.reservations_all(client, campaign_id)
    ordered = order_selectors.flash_sale_order_count(campaign_id=campaign_id)
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign_id)
    return [
        (f"campaign {campaign_id}: reservations = units: {len(records)} = {units}", len(records) == units),
        (f"campaign {campaign_id}: orders = reservations: {ordered} = {len(records)}", ordered == len(records)),
        (
            f"campaign {campaign_id}: every reservation ordered: {sum(r.status == 'ordered' for r in records)}",
            all(r.status == "ordered" for r in records),
        ),
        (f"campaign {campaign_id}: reconciliation clean ({len(report.differences)} differences)", report.clean),
    ]


def run(
    user_ids: list[int],
    *,
    units: int = 20_000,
    baseline_seconds: float = 20.0,
    log=print,
    profile: bool = False,
    writers: int = 1,
):
    """(batch result, one-by-one result, invariant lines)."""
    limit = -(-units // len(user_ids))  # every unit sold: each shopper buys at most this many
    batch_sale, baseline_sale = _campaign(units, limit), _campaign(units, limit)
    for sale in (batch_sale, baseline_sale):
        started = time.monotonic()
        sold = sell_out_in_redis(sale.id, user_ids, units)
        log(f"  sold out campaign {sale.id} in Redis: {sold} units in {time.monotonic() - started:.1f}s")
    if writers == 1:
        writer = order_services.ReservationWorker(campaign_ids=[batch_sale.id], consumer="bench-batch")
        drained, seconds = _drain(writer, batch_sale.id, units, None, profile=profile)
    else:
        drained, seconds = _drain_parallel(batch_sale.id, units, writers)
    batch = DrainResult("batch writer", units, drained, seconds)
    log(f"  batch writer ({writers} in parallel): {drained} orders in {seconds:.2f}s = {batch.rate:.0f}/s")
    drained, seconds = _drain(
        OneByOneWorker(campaign_ids=[baseline_sale.id], consumer="bench-one", batch=100),
        baseline_sale.id,
        units,
        baseline_seconds,
    )
    one = DrainResult("one by one", units, drained, seconds)
    log(f"  one by one: {drained} orders in {seconds:.2f}s = {one.rate:.0f}/s (stopped after {baseline_seconds:.0f}s)")
    rest, rest_s = _drain(
        order_services.ReservationWorker(campaign_ids=[baseline_sale.id], consumer="bench-rest"),
        baseline_sale.id,
        units - drained,
        None,
    )
    log(f"  the rest of the baseline's sale by the batch writer: {rest} orders in {rest_s:.2f}s")
    checks = _invariants(batch_sale.id, units) + _invariants(baseline_sale.id, units)
    return batch, one, [f"{'OK  ' if ok else 'FAIL'} {text}" for text, ok in checks]
