"""The benchmarks scripts/bench/report knows: how each one's output parses, and the table rows it gives.

Adding a benchmark means a rows_* function (and a *_figures parser if its result is not one
`key: value | ...` line) here, and a Bench entry in benches.py.
"""

from __future__ import annotations

import math
import re

from bench_lines import NONE, Figure, Row, _get, _num, _rate, last_line, parse_line


def rows_checkout(f: dict[str, Figure]) -> list[Row]:
    ours = _get(f, "checkout")
    sql, cpu = _get(f, "sql/checkout"), _get(f, "cpu/checkout")
    note = ", ".join(
        part
        for part in (
            f"{sql.raw} SQL statements per checkout" if sql else "",
            f"{cpu.raw} Python CPU per checkout" if cpu else "",
        )
        if part
    )
    return [
        Row(
            "checkout `POST /api/v1/orders`",
            "2,000/s at p99 150 ms",
            "≥ 1,000/s at p99 ≤ 150 ms",
            ours.rate if ours else None,
            ours.p99 if ours else None,
            _rate(f, "naive"),
            "naive row-lock checkout",
            note,
        )
    ]


_CHECKOUT_RESULT = re.compile(
    r"^\s*(?P<label>inventory read \(hot\)|trivial hot endpoint)\s+(?P<rate>[\d.]+)/s \(p99 (?P<p99>[\d.]+) ms"
)


def checkout_figures(output: str) -> dict[str, Figure]:
    """The `checkout:` line, plus the hot inventory read and the trivial hot endpoint of the same run.

    Those two come from its results block (`  inventory read (hot)   19860/s (p99 7.2 ms at target 20000/s)`),
    not from the ladder's step lines (which read `target ... achieved ...`).
    """
    line = last_line(output, "checkout:")
    figures = parse_line(line) if line else {}
    for text in output.splitlines():
        match = _CHECKOUT_RESULT.match(text)
        if match:
            figures[match["label"]] = Figure(raw=text.strip(), rate=float(match["rate"]), p99=float(match["p99"]))
    return figures


def rows_inventory_read(f: dict[str, Figure]) -> list[Row]:
    read = _get(f, "inventory read (hot)")
    trivial = _get(f, "trivial hot endpoint")
    return [
        Row(
            "inventory read `GET /api/v1/inventory/{sku}` (hot path)",
            NONE,
            "20,000/s at p99 ≤ 10 ms",
            read.rate if read else None,
            read.p99 if read else None,
            trivial.rate if trivial else None,
            "trivial hot endpoint, same server",
            "" if read else "no rate within p99 10 ms" if f else "",
        )
    ]


def rows_checkout_all(f: dict[str, Figure]) -> list[Row]:
    return rows_checkout(f) + rows_inventory_read(f)


def rows_flash_sale(f: dict[str, Figure]) -> list[Row]:
    ours = _get(f, "purchase")
    ceiling = _get(f, "ceiling")
    vs_ceiling = _get(f, "vs ceiling")
    note = ""
    if ceiling and ceiling.rate:
        note = f"trivial endpoint on the same server: {ceiling.rate:,.0f}/s"
        if vs_ceiling and vs_ceiling.percent is not None:
            note += f" (purchase = {vs_ceiling.percent:.0f}% of it)"
    return [
        Row(
            "flash-sale purchase (hot path)",
            "10,000/s at p99 50 ms",
            "≥ 10,000/s at p99 ≤ 50 ms",
            ours.rate if ours else None,
            ours.p99 if ours else None,
            _rate(f, "naive"),
            "naive `SELECT … FOR UPDATE` purchase",
            note,
        ),
        Row(
            "flash-sale drain, reservations → orders",
            "10,000 purchases/s become orders",
            "≥ 5,000 orders/s",
            _rate(f, "drain"),
            None,
            _rate(f, "one-by-one", "drain one-by-one", "one by one", "naive drain", "drain naive", "worker"),
            "one-by-one worker",
        ),
    ]


_DRAIN_PAIR = re.compile(r"batch writer ([\d.,]+)/s vs one by one ([\d.,]+)/s")


def flash_sale_figures(output: str) -> dict[str, Figure]:
    """The `purchase:` line, plus the one-by-one drain of the same run (printed on its own line above it)."""
    line = last_line(output, "purchase:")
    figures = parse_line(line) if line else {}
    pairs = _DRAIN_PAIR.findall(output)
    if figures and "one-by-one" not in figures and pairs:
        figures["one-by-one"] = Figure(raw=f"{pairs[-1][1]}/s", rate=_num(pairs[-1][1]))
    return figures


def rows_outbox_relay(f: dict[str, Figure]) -> list[Row]:
    two = _rate(f, "2 relays")
    return [
        Row(
            "outbox relay, DB → Kafka acknowledged",
            "100,000 events/s on Kafka",
            NONE,
            _rate(f, "relay"),
            None,
            _rate(f, "naive"),
            "produce-and-wait per event",
            f"two relays at once: {two:,.0f}/s" if two else "",
        ),
        Row(
            "outbox end to end, `publish_many` + relay",
            "100,000 events/s on Kafka",
            "≥ 20,000 events/s",
            _rate(f, "end to end"),
            None,
            _rate(f, "naive"),
            "produce-and-wait per event",
        ),
    ]


def rows_browse(f: dict[str, Figure]) -> list[Row]:
    browse, search = _get(f, "browse"), _get(f, "search")
    stale = _get(f, "staleness")
    hit = search.percent if search else None
    return [
        Row(
            "browse mix (API + storefront, anonymous)",
            "5,000/s at p99 50 ms",
            "≥ 5,000/s at p99 ≤ 50 ms",
            browse.rate if browse else None,
            browse.p99 if browse else None,
            _rate(f, "baseline"),
            "uncached Django path, same mix",
            f"a staff price change seen after {stale.raw}" if stale else "",
        ),
        Row(
            "search, Zipf mix of queries",
            "3,000/s at p99 100 ms",
            "≥ 3,000/s at p99 ≤ 100 ms",
            search.rate if search else None,
            search.p99 if search else None,
            _rate(f, "uncached search"),
            "uncached search",
            f"cache hit {hit:.0f}%" if hit is not None else "",
        ),
    ]


_RESULT = re.compile(r"^(?P<name>.+?)\s+requests=\d+ .*?rate=(?P<rate>[\d.]+) .*?p99_ms=(?P<p99>[\d.]+)")


def search_figures(output: str) -> dict[str, Figure]:
    """scripts/bench/search prints `<scenario>  requests=.. rate=.. p99_ms=..` per scenario."""
    figures = {}
    for line in output.splitlines():
        match = _RESULT.match(line.strip())
        if match:
            figures[match["name"].strip().lower()] = Figure(
                raw=line.strip(), rate=float(match["rate"]), p99=float(match["p99"])
            )
    seeded = re.findall(r"seed_demo --products (\d+)", output)
    if figures and seeded:
        figures["products"] = Figure(raw=seeded[-1], number=float(seeded[-1]))
    return figures


def rows_search(f: dict[str, Figure]) -> list[Row]:
    opensearch = _get(f, "search (opensearch)")
    catalog = _get(f, "catalog list")
    products = _get(f, "products")
    notes = [
        f"{products.number:,.0f} products" if products and products.number else "",
        f"catalog list: {catalog.rate:,.0f}/s at p99 {catalog.p99:.0f} ms" if catalog else "",
    ]
    return [
        Row(
            "search on OpenSearch, paced (scripts/bench/search)",
            "3,000/s at p99 100 ms",
            "latency at the offered rate",
            opensearch.rate if opensearch else None,
            opensearch.p99 if opensearch else None,
            _rate(f, "search (postgresql fts)"),
            "PostgreSQL full-text search",
            "; ".join(n for n in notes if n),
        )
    ]


# A route where no fixed rate passed prints `0/s p99 inf ms`.
_SERVING_STEP = re.compile(r"^(?P<name>.+?)\s+(?P<rate>[\d.,]+)/s p99 (?P<p99>[\d.]+|inf|nan) ms$")


def serving_figures(output: str) -> dict[str, Figure]:
    """`serving: healthz gunicorn 2500/s p99 12.0 ms | ... | edge hot 9000/s p99 8.0 ms | chosen: web=..`"""
    line = last_line(output, "serving:")
    if not line:
        return {}
    figures = {}
    for segment in line.removeprefix("serving:").split(" | "):
        segment = segment.strip()
        if segment.startswith("chosen:"):
            figures["chosen"] = Figure(raw=segment.removeprefix("chosen:").strip())
            continue
        match = _SERVING_STEP.match(segment)
        if match:
            p99: float | None = float(match["p99"])
            p99 = p99 if math.isfinite(p99) else None
            figures[match["name"]] = Figure(raw=segment, rate=_num(match["rate"]), p99=p99)
    return figures


def rows_serving(f: dict[str, Figure]) -> list[Row]:
    chosen = f["chosen"].raw if "chosen" in f else ""
    rows = []
    # The baseline is what served each route before the topology was measured: uvicorn for all.
    for route, label, baseline_key, baseline_label in (
        ("healthz", "Django `/healthz` through the edge", "healthz uvicorn", "Django under uvicorn (ASGI), direct"),
        ("list", "light API list through the edge", "list uvicorn", "Django under uvicorn (ASGI), direct"),
        ("hot", "hot inventory read through the edge", "hot uvicorn", "hot route under uvicorn, direct"),
    ):
        ours = f.get(f"edge {route}")
        none_passed = "no fixed rate passed the p99 limit" if ours and not ours.rate else ""
        rows.append(
            Row(
                label,
                NONE,
                "the topology scripts/run runs",
                ours.rate if ours else None,
                ours.p99 if ours else None,
                _rate(f, baseline_key),
                baseline_label,
                "; ".join(n for n in (none_passed, chosen) if n),
            )
        )
    return rows


_HOT_REDIS = re.compile(
    r"^evalsha at (?P<level>\d+) concurrent: hotredis (?P<hot>[\d.]+)/s (?P<hot_cpu>[\d.]+) µs/op \| "
    r"redis-py\+hiredis (?P<py>[\d.]+)/s (?P<py_cpu>[\d.]+) µs/op"
)


def hot_redis_figures(output: str) -> dict[str, Figure]:
    """`evalsha at 256 concurrent: hotredis 6556/s 28.7 µs/op | redis-py+hiredis 1361/s 237.3 µs/op | ...`"""
    line = last_line(output, "evalsha at ")
    match = _HOT_REDIS.match(line) if line else None
    if not match:
        return {}
    return {
        "hotredis": Figure(raw=f"{match['hot']}/s", rate=float(match["hot"]), ms=float(match["hot_cpu"]) / 1000),
        "redis-py": Figure(raw=f"{match['py']}/s", rate=float(match["py"]), ms=float(match["py_cpu"]) / 1000),
        "concurrency": Figure(raw=match["level"], number=float(match["level"])),
    }


def rows_hot_redis(f: dict[str, Figure]) -> list[Row]:
    hot, py = _get(f, "hotredis"), _get(f, "redis-py")
    level = int(f["concurrency"].number) if "concurrency" in f else None
    note = ""
    if hot and py and hot.ms and py.ms:
        note = f"client CPU {hot.ms * 1000:.1f} vs {py.ms * 1000:.1f} µs per command"
    return [
        Row(
            f"hot Redis client, token-bucket EVALSHA{f' at {level} concurrent' if level else ''}",
            NONE,
            "keeps the hand-written client only if clearly faster",
            hot.rate if hot else None,
            None,
            py.rate if py else None,
            "redis-py asyncio + hiredis",
            note,
        )
    ]


_FSYNC = re.compile(
    r"^redis fsync: everysec (?P<every>[\d.]+)/s p99 (?P<every_p99>[\d.]+) ms \| "
    r"always (?P<always>[\d.]+)/s p99 (?P<always_p99>[\d.]+) ms"
)


def fsync_figures(output: str) -> dict[str, Figure]:
    """`redis fsync: everysec 4567/s p99 33.1 ms | always 2600/s p99 69.3 ms | always vs everysec: 0.57x`"""
    line = last_line(output, "redis fsync:")
    match = _FSYNC.match(line) if line else None
    if not match:
        return {}
    return {
        "everysec": Figure(raw=line, rate=float(match["every"]), p99=float(match["every_p99"])),
        "always": Figure(raw=line, rate=float(match["always"]), p99=float(match["always_p99"])),
    }


def rows_fsync(f: dict[str, Figure]) -> list[Row]:
    every, always = _get(f, "everysec"), _get(f, "always")
    return [
        Row(
            "flash-sale token + purchase on Redis, AOF `appendfsync everysec`",
            NONE,
            "the durability the shop runs with",
            every.rate if every else None,
            every.p99 if every else None,
            always.rate if always else None,
            "`appendfsync always`",
            f"always: p99 {always.p99:.1f} ms" if always and always.p99 is not None else "",
        )
    ]
