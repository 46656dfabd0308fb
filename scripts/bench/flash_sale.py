"""See scripts/bench/flash_sale: its own database, Redis database and topic prefix (the wrapper's)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import flash_sale_drain  # noqa: E402  (scripts/bench/flash_sale_drain.py, next to this file)
import flash_sale_hotpath  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from apps.bench.naive_flash_sale import PURCHASE_TABLE, STOCK_TABLE  # noqa: E402
from apps.catalog import services as catalog_services  # noqa: E402
from apps.inventory import services as inventory_services  # noqa: E402
from apps.order import selectors as order_selectors  # noqa: E402
from apps.order.services import ReservationWorker  # noqa: E402
from apps.promotion import flashsale, services  # noqa: E402
from tests.stack import start_stack  # noqa: E402  (the topology scripts/run runs: nginx edge + web + hot)

P99_LIMIT_MS = 50.0
BENCH_CAMPAIGN_BASE = 8_000_000_000  # Redis-only campaigns for the rate steps, far from real ids


def log(message: str) -> None:
    print(message, flush=True)


def _tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants so far."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    wanted, total = {root_pid}, 0.0
    for pid in sorted(parents):  # children have larger pids than their parents here
        if pid in wanted or parents[pid] in wanted:
            wanted.add(pid)
            total += cpu.get(pid, 0.0)
    return total


class CpuMeter:
    """CPU per request of the stack's programs (edge, hot, web) over one ladder step: where a
    request's cost goes, which a loaded box's throughput figure cannot say."""

    def __init__(self, stack) -> None:
        self.pids = {name: stack.pid(name) for name in ("edge", "hot", "web")}

    def snapshot(self) -> dict[str, float]:
        return {name: _tree_cpu(pid) for name, pid in self.pids.items()}

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
        return " ".join(f"{n} {(after[n] - before[n]) / max(1, requests) * 1e6:.0f}" for n in before) + " us CPU/req"


METER: CpuMeter | None = None


def stack_env() -> dict[str, str]:
    """The app processes' environment: this run's database, Redis db and topics (the wrapper's), and
    what scripts/run gives every process (connection pool, the edge as the only trusted proxy,
    multiprocess metrics). Tracing stays off, as scripts/run with TRACING=0."""
    metrics_dir = Path(tempfile.mkdtemp(prefix="nc-bench-fs-metrics-"))
    env = dict(os.environ)
    for name in [k for k in env if k.startswith("OTEL_")]:
        del env[name]
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DB_POOL_SIZE": env.get("DB_POOL_SIZE", "20"),
            "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    return env


def make_users(count: int) -> list[tuple[int, str]]:
    user_model = get_user_model()
    run = uuid.uuid4().hex[:8]
    user_model.objects.bulk_create([user_model(email=f"bench-{run}-{i}@example.com") for i in range(count)])
    users = user_model.objects.filter(email__startswith=f"bench-{run}-").order_by("id")
    return [(u.id, f"Bearer {AccessToken.for_user(u)}") for u in users]


def target(method: str, url: str, bearer: str | None, body: dict | None) -> str:
    header = {"Content-Type": ["application/json"]}
    if bearer:
        header["Authorization"] = [bearer]
    line = {"method": method, "url": url, "header": header}
    if body is not None:
        line["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return json.dumps(line)


def attack(vegeta: str, targets: list[str], rate: int, duration: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write("\n".join(targets) + "\n")
        path = handle.name
    before = METER.snapshot() if METER else None
    try:
        attack_run = subprocess.run(
            [
                vegeta,
                "attack",
                "-format=json",
                f"-targets={path}",
                f"-rate={rate}/s",
                f"-duration={duration}s",
                "-timeout=5s",
                "-max-workers=4000",
            ],
            capture_output=True,
            check=True,
        )
        report = subprocess.run(
            [vegeta, "report", "-type=json"], input=attack_run.stdout, capture_output=True, check=True
        )
    finally:
        os.unlink(path)
    data = json.loads(report.stdout)
    cpu = METER.per_request(before, METER.snapshot(), data["requests"]) if METER else ""
    return {
        "cpu": cpu,
        "rate": rate,
        "sent": data["requests"],
        "p50": data["latencies"]["50th"] / 1e6,
        "p99": data["latencies"]["99th"] / 1e6,
        "throughput": data["throughput"],
        "codes": data["status_codes"],
        "success": data["success"],
    }


def ladder(name: str, rates: list[int], duration: float, run_step) -> tuple[dict | None, list[dict]]:
    """Run steps at increasing rates until p99 exceeds the limit (or errors appear); the best passing step."""
    best, steps = None, []
    for rate in rates:
        # A failed step is tried once more: on a shared box another process can stall us for a moment.
        for attempt in (1, 2):
            step = run_step(rate)
            steps.append(step)
            good = step["p99"] <= P99_LIMIT_MS and step["ok_ratio"] >= 0.99
            log(
                f"  {name:<8} {rate:>6}/s  p50 {step['p50']:7.2f} ms  p99 {step['p99']:8.2f} ms  "
                f"ok {step['ok_per_s']:8.0f}/s  codes {step['codes']}  {step['cpu']}  {'PASS' if good else 'FAIL'}"
                + ("" if attempt == 1 else " (retry)")
            )
            if good:
                break
            time.sleep(1.0)
        if not good:
            break
        best = step
        time.sleep(0.5)
    return best, steps


def purchase_step(vegeta: str, url: str, users, duration: float, step_no: int):
    def run(rate: int) -> dict:
        campaign_id = BENCH_CAMPAIGN_BASE + step_no * 100 + run.count
        run.count += 1
        client = flashsale.sync_client()
        total = int(rate * duration) + 10
        now = flashsale.now_ms()
        flashsale.warmup(
            client,
            campaign_id=campaign_id,
            starts_ms=now - 1000,
            ends_ms=now + 600_000,
            per_user_limit=1_000_000,
            price=100,
            currency="USD",
            sku="BENCH",
            quantity=total * 2,
        )
        targets, pipe = [], client.pipeline(transaction=False)
        purchase_url = f"{url}/api/v1/flash-sales/{campaign_id}/purchase"
        for i in range(total):
            user_id, bearer = users[i % len(users)]
            token, nonce = flashsale.token_encode(campaign_id=campaign_id, user_id=user_id, expires_ms=now + 600_000)
            pipe.set(flashsale.Keys(campaign_id).token(nonce), user_id, px=600_000)
            targets.append(target("POST", purchase_url, bearer, {"token": token}))
            if len(pipe) >= 5000:
                pipe.execute()
        pipe.execute()
        step = attack(vegeta, targets, rate, duration)
        step["ok_per_s"] = step["throughput"] * step["codes"].get("202", 0) / max(1, step["sent"])
        step["ok_ratio"] = step["codes"].get("202", 0) / max(1, step["sent"])
        flashsale.delete_campaign_keys(client, campaign_id)
        return step

    run.count = 0
    return run


def naive_step(vegeta: str, url: str, users, duration: float):
    def run(rate: int) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {PURCHASE_TABLE}")
            cursor.execute(f"UPDATE {STOCK_TABLE} SET remaining = 100000000 WHERE id = 1")
        total = int(rate * duration) + 10
        naive_url = f"{url}/api/v1/flash-sales/_bench/naive-purchase"
        targets = [target("POST", naive_url, users[i % len(users)][1], {"campaign": 1}) for i in range(total)]
        step = attack(vegeta, targets, rate, duration)
        step["ok_per_s"] = step["throughput"] * step["codes"].get("202", 0) / max(1, step["sent"])
        step["ok_ratio"] = step["codes"].get("202", 0) / max(1, step["sent"])
        return step

    return run


def ceiling_step(vegeta: str, url: str, duration: float):
    def run(rate: int) -> dict:
        # apps/bench/hot.py's constant answer on the hot server, under the purchase's own edge route.
        ping = f"{url}/api/v1/flash-sales/_bench/purchase"
        targets = [target("GET", ping, None, None)] * int(rate * duration + 10)
        step = attack(vegeta, targets, rate, duration)
        step["ok_per_s"] = step["throughput"] * step["codes"].get("200", 0) / max(1, step["sent"])
        step["ok_ratio"] = step["codes"].get("200", 0) / max(1, step["sent"])
        return step

    return run


def prepare_naive_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {STOCK_TABLE} "
            "(id int PRIMARY KEY, remaining int NOT NULL, per_user_limit int NOT NULL)"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {PURCHASE_TABLE} "
            "(id bigint PRIMARY KEY, campaign int NOT NULL, user_id bigint NOT NULL)"
        )
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {PURCHASE_TABLE}_user ON {PURCHASE_TABLE} (campaign, user_id)")
        cursor.execute(
            f"INSERT INTO {STOCK_TABLE} VALUES (1, 100000000, 1000000) "
            "ON CONFLICT (id) DO UPDATE SET per_user_limit = 1000000"
        )


def sell_out(vegeta: str, url: str, users, rate: int) -> list[str]:
    """A real campaign (catalog SKU, inventory allocation) sold out under load, drained, reconciled."""
    quantity, limit = 2000, 2
    tag = uuid.uuid4().hex[:8].upper()
    category = catalog_services.category_create(name=f"Bench {tag}")
    sku = f"BENCH-{tag}"
    catalog_services.product_create(
        name=f"Bench gadget {tag}",
        category_id=category.pk,
        variants=[catalog_services.VariantInput(sku=sku, name="Standard", price=9900)],
    )
    inventory_services.stock_bulk_set(levels={sku: quantity}, reason="flash-sale benchmark")
    starts = timezone.now() - timezone.timedelta(seconds=1)
    campaign = services.flash_sale_campaign_create(
        sku=sku,
        price=1999,
        quantity=quantity,
        starts_at=starts,
        ends_at=starts + timezone.timedelta(minutes=30),
        per_user_limit=limit,
        actor="bench",
    )
    services.flash_sale_campaign_warmup(campaign_id=campaign.id)
    client = flashsale.sync_client()
    now = flashsale.now_ms()
    attempts = quantity * 3
    targets, pipe = [], client.pipeline(transaction=False)
    shoppers = users[:1500]
    for i in range(attempts):
        user_id, bearer = shoppers[i % len(shoppers)]
        token, nonce = flashsale.token_encode(campaign_id=campaign.id, user_id=user_id, expires_ms=now + 600_000)
        pipe.set(flashsale.Keys(campaign.id).token(nonce), user_id, px=600_000)
        targets.append(target("POST", f"{url}/api/v1/flash-sales/{campaign.id}/purchase", bearer, {"token": token}))
    pipe.execute()
    step = attack(vegeta, targets, min(rate, 8000), attempts / min(rate, 8000))
    log(
        f"  sell-out: {attempts} attempts at {min(rate, 8000)}/s by {len(shoppers)} users: "
        f"codes {step['codes']}, p99 {step['p99']:.1f} ms"
    )
    started = time.monotonic()
    worker = ReservationWorker(campaign_ids=[campaign.id])
    worker.run(idle_timeout=1.5)
    log(f"  worker drained {worker.created} reservations into orders in {time.monotonic() - started - 1.5:.1f}s")
    records = flashsale.reservations_all(client, campaign.id)
    per_user = Counter()
    for record in records:
        per_user[record.user_id] += record.quantity
    orders = {order_selectors.order_get_by_reservation(reservation_id=r.reservation_id) for r in records}
    orders.discard(None)
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    checks = [
        (f"units sold = stock: {sum(per_user.values())} = {quantity}", sum(per_user.values()) == quantity),
        (f"202 answers = units sold: {step['codes'].get('202', 0)}", step["codes"].get("202", 0) == quantity),
        (f"per-user limit held: max {max(per_user.values())} <= {limit}", max(per_user.values()) <= limit),
        (f"orders = reservations after the drain: {len(orders)} = {len(records)}", len(orders) == len(records)),
        (f"reconciliation clean ({len(report.differences)} differences)", report.clean),
    ]
    return [f"{'OK  ' if ok else 'FAIL'} {text}" for text, ok in checks]


def measure(args, url: str, users, duration: float):
    """The three ladders and the real sell-out against the running stack."""
    # Warm the server's connections and script cache before measuring.
    purchase_step(args.vegeta, url, users, 1.0, 9)(500)
    log("[bench] (1) hot purchase endpoint")
    best_purchase, _ = ladder(
        "purchase",
        [500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000, 14000],
        duration,
        purchase_step(args.vegeta, url, users, duration, 1),
    )
    log("[bench] (2) naive SELECT ... FOR UPDATE baseline (Django view)")
    naive_step(args.vegeta, url, users, 1.0)(50)  # warm: web's workers, their pools and Django's first request
    best_naive, _ = ladder(
        "naive",
        [50, 100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000],
        duration,
        naive_step(args.vegeta, url, users, duration),
    )
    log("[bench] (3) trivial endpoint (ceiling, same server)")
    ceiling_step(args.vegeta, url, 1.0)(500)  # warm, as the other two
    best_ceiling, _ = ladder(
        "ceiling",
        [500, 1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000],
        duration,
        ceiling_step(args.vegeta, url, duration),
    )
    log("[bench] invariants after a real sell-out")
    invariant_lines = sell_out(args.vegeta, url, users, int(best_purchase["rate"]) if best_purchase else 2000)
    return best_purchase, best_naive, best_ceiling, invariant_lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vegeta", required=True)
    parser.add_argument("--quick", action="store_true", help="shorter steps (smoke run)")
    parser.add_argument("--drain-only", action="store_true", help="only the drain (sell-out -> orders) part")
    parser.add_argument("--drain-units", type=int, default=20_000, help="units of each drained sale")
    parser.add_argument("--drain-baseline-seconds", type=float, default=20.0, help="time given to one-by-one")
    parser.add_argument("--profile-drain", action="store_true", help="cProfile the batch writer's drain")
    parser.add_argument(
        "--drain-writers",
        type=int,
        default=settings.FLASH_SALE_WORKER_WRITERS,
        help="batch writers in parallel (threads; default: what flashsale_worker runs)",
    )
    parser.add_argument(
        "--hotpath-profile", type=int, metavar="N", help="only the purchase's in-process CPU and profile (N requests)"
    )
    args = parser.parse_args()
    duration = 2.0 if args.quick else 4.0
    started = time.monotonic()
    log(f"[bench] cores: {os.cpu_count()}, load average now: {os.getloadavg()[0]:.1f} (other work on the box skews")
    log(f"[bench] every figure); load tool: vegeta at fixed rates, {duration:.0f}s per step")
    users = make_users(2000)
    if args.hotpath_profile:
        flash_sale_hotpath.run(users, args.hotpath_profile, log=log)
        return
    log(f"[bench] drain: two sales of {args.drain_units} units sold out, then drained into orders")
    drain_batch, drain_one, drain_lines = flash_sale_drain.run(
        [user_id for user_id, _ in users],
        units=args.drain_units,
        baseline_seconds=args.drain_baseline_seconds,
        log=log,
        profile=args.profile_drain,
        writers=args.drain_writers,
    )
    if args.drain_only:
        for line in drain_lines:
            log(f"  {line}")
        ratio = drain_batch.rate / max(drain_one.rate, 1e-9)
        log(f"[bench] drain target: >= 5000 orders/s; vs one by one: {ratio:.1f}x")
        print(
            f"purchase: not measured (--drain-only) | drain: {drain_batch.rate:.0f}/s | "
            f"one-by-one: {drain_one.rate:.0f}/s",
            flush=True,
        )
        raise SystemExit(1 if any(line.startswith("FAIL") for line in drain_lines) else 0)
    prepare_naive_tables()
    env = stack_env()
    # The scripts/run topology (config/topology.py, as tests/stack.py renders it): nginx edge ->
    # hot routes on granian ASGI, the rest (the naive Django view) on gunicorn gthread.
    with start_stack(env, programs=("web", "hot", "edge")) as stack:
        global METER
        METER = CpuMeter(stack)
        url = stack.url
        topo = stack.topology
        log(
            f"[bench] stack: edge nginx ({topo.edge_workers} worker) -> hot {topo.hot_server} x{topo.hot_workers}, "
            f"web {topo.web_server} {topo.web_workers}x{topo.web_threads}; {url}"
        )
        try:
            best_purchase, best_naive, best_ceiling, invariant_lines = measure(args, url, users, duration)
        except BaseException:
            log(stack.logs())
            raise
        finally:
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    invariant_lines += drain_lines
    for line in invariant_lines:
        log(f"  {line}")
    log(f"[bench] drain: batch writer {drain_batch.rate:.0f}/s vs one by one {drain_one.rate:.0f}/s (target >= 5000/s)")
    purchase = best_purchase["ok_per_s"] if best_purchase else 0.0
    p99 = best_purchase["p99"] if best_purchase else float("nan")
    naive = best_naive["ok_per_s"] if best_naive else 0.0
    ceiling = best_ceiling["ok_per_s"] if best_ceiling else 0.0
    log(f"[bench] targets: >= 10000/s at p99 <= 50 ms (issue 10), >= 7x naive; took {time.monotonic() - started:.0f}s")
    vs_naive = purchase / naive if naive else float("inf")
    vs_ceiling = 100 * purchase / ceiling if ceiling else 0.0
    print(
        f"purchase: {purchase:.0f}/s p99 {p99:.1f} ms | naive: {naive:.0f}/s | ceiling: {ceiling:.0f}/s | "
        f"vs naive: {vs_naive:.1f}x | vs ceiling: {vs_ceiling:.0f}% | drain: {drain_batch.rate:.0f}/s",
        flush=True,
    )
    if any(line.startswith("FAIL") for line in invariant_lines):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
