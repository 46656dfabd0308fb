"""The benchmarks scripts/bench/report knows: how each one's fixed last line parses, and the table rows it gives.

Split from report.py (which runs the benchmarks and draws the table and chart) so that adding a
benchmark means adding a rows_* function and a Bench entry here, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

NONE = "\u2013"  # an en dash for "no figure" in the table


# ---- parsing the fixed last line ---------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One `key: value` segment of a last line, with the numbers it carries."""

    raw: str
    rate: float | None = None  # "1234/s"
    p99: float | None = None  # "p99 80.1 ms"
    ms: float | None = None  # "14.5 ms" (not a p99)
    percent: float | None = None  # "58%" / "hit 93%"
    factor: float | None = None  # "35.0x"
    number: float | None = None  # a bare number ("27")


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def parse_figure(raw: str) -> Figure:
    raw = raw.strip()
    rate = re.search(r"([\d][\d,]*(?:\.\d+)?)\s*/s", raw)
    p99 = re.search(r"p99\s+([\d.]+)\s*ms", raw)
    percent = re.search(r"([\d.]+)\s*%", raw)
    factor = re.fullmatch(r"([\d.]+)\s*x", raw)
    ms = None if p99 else re.fullmatch(r"([\d.]+)\s*ms", raw)
    number = re.fullmatch(r"[\d][\d,]*(?:\.\d+)?", raw)
    return Figure(
        raw=raw,
        rate=_num(rate.group(1)) if rate else None,
        p99=float(p99.group(1)) if p99 else None,
        ms=float(ms.group(1)) if ms else None,
        percent=float(percent.group(1)) if percent else None,
        factor=float(factor.group(1)) if factor else None,
        number=_num(raw) if number else None,
    )


def parse_line(line: str) -> dict[str, Figure]:
    """`a: 1/s p99 2 ms | b: 3x` -> {"a": Figure(...), "b": Figure(...)} (keys lower-cased)."""
    figures: dict[str, Figure] = {}
    for segment in line.strip().split(" | "):
        key, sep, value = segment.partition(":")
        if sep:
            figures[key.strip().lower()] = parse_figure(value)
    return figures


def last_line(output: str, prefix: str) -> str | None:
    """The last line of a benchmark's output that starts with its fixed prefix (e.g. "checkout:")."""
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith(prefix)]
    return lines[-1] if lines else None


# ---- scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scenario: str
    seed: str  # the seed's figure, as the issue quotes it
    target: str
    ours_rate: float | None = None
    ours_p99: float | None = None
    baseline_rate: float | None = None
    baseline_label: str = ""
    note: str = ""
    source: str = ""  # the benchmark that produced it

    @property
    def ratio(self) -> float | None:
        if self.ours_rate and self.baseline_rate:
            return self.ours_rate / self.baseline_rate
        return None


def _get(figures: dict[str, Figure], *keys: str) -> Figure | None:
    for key in keys:
        if key in figures:
            return figures[key]
    return None


def _rate(figures: dict[str, Figure], *keys: str) -> float | None:
    figure = _get(figures, *keys)
    return figure.rate if figure else None


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
    return figures


def rows_search(f: dict[str, Figure]) -> list[Row]:
    opensearch = _get(f, "search (opensearch)")
    catalog = _get(f, "catalog list")
    return [
        Row(
            "search on OpenSearch, paced (scripts/bench/search)",
            "3,000/s at p99 100 ms",
            "latency at the offered rate",
            opensearch.rate if opensearch else None,
            opensearch.p99 if opensearch else None,
            _rate(f, "search (postgresql fts)"),
            "PostgreSQL full-text search",
            f"catalog list: {catalog.rate:,.0f}/s at p99 {catalog.p99:.0f} ms" if catalog else "",
        )
    ]


_SERVING_STEP = re.compile(r"^(?P<name>.+?)\s+(?P<rate>[\d.,]+)/s p99 (?P<p99>[\d.]+) ms$")


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
            figures[match["name"]] = Figure(raw=segment, rate=_num(match["rate"]), p99=float(match["p99"]))
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
        rows.append(
            Row(
                label,
                NONE,
                "the topology scripts/run runs",
                ours.rate if ours else None,
                ours.p99 if ours else None,
                _rate(f, baseline_key),
                baseline_label,
                chosen,
            )
        )
    return rows


@dataclass(frozen=True)
class Bench:
    name: str  # the executable in scripts/bench/
    args: tuple[str, ...]  # short durations for the report
    timeout: int  # seconds at most
    prefix: str  # how its fixed last line starts
    rows: Callable[[dict[str, Figure]], list[Row]]
    env: dict[str, str] = field(default_factory=dict)
    figures: Callable[[str], dict[str, Figure]] | None = None  # for a benchmark without one fixed line

    def parse(self, output: str) -> list[Row]:
        if self.figures is not None:
            figures = self.figures(output)
        else:
            line = last_line(output, self.prefix)
            figures = parse_line(line) if line else {}
        rows = self.rows(figures)
        if not figures:
            return [_replace(row, note=f"no result line (`{self.prefix}`) in the output") for row in rows]
        return [_replace(row, source=self.name) for row in rows]


def _replace(row: Row, **changes) -> Row:
    return Row(**{**row.__dict__, **changes})


BENCHES = [
    Bench(
        "checkout",
        (),
        420,
        "checkout:",
        rows_checkout,
        env={"CHECKOUT_SECONDS": "4", "READ_SECONDS": "3", "CHECKOUT_RATES": "50 100 200 400 700 1000 1500"},
    ),
    Bench("flash_sale", ("--quick",), 360, "purchase:", rows_flash_sale, figures=flash_sale_figures),
    Bench("outbox_relay", ("20000",), 240, "relay:", rows_outbox_relay),
    Bench("browse", ("--duration", "8s"), 420, "browse:", rows_browse),
    Bench("serving", ("--duration", "3"), 420, "serving:", rows_serving, figures=serving_figures),
    Bench(
        "search",
        ("--products", "10000", "--rate", "60", "--duration", "8s"),
        300,
        "RESULT",
        rows_search,
        figures=search_figures,
    ),
]


def bench_for_output(output: str) -> Bench | None:
    """Which benchmark printed this (for --parse-only): the one whose fixed line is in it."""
    for bench in BENCHES:
        if bench.figures is not None:
            if bench.figures(output):
                return bench
        elif last_line(output, bench.prefix):
            return bench
    return None
