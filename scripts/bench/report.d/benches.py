"""The benchmarks scripts/bench/report runs, in order: each one's short mode, time cap and parser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench_lines import Figure, Row, _replace, last_line, parse_line
from bench_scenarios import (
    checkout_figures,
    flash_sale_figures,
    fsync_figures,
    hot_redis_figures,
    rows_browse,
    rows_checkout_all,
    rows_flash_sale,
    rows_fsync,
    rows_hot_redis,
    rows_outbox_relay,
    rows_search,
    rows_serving,
    search_figures,
    serving_figures,
)


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


# The report's short mode of each benchmark: its own flags (or environment) for short steps, so that
# all of them fit the report's 20 minutes with a margin. `timeout` is each one's cap; the caps add up
# to less than the budget minus report.RENDER_RESERVE (tests/test_bench_report.py checks it), so no
# benchmark is skipped for want of time unless one before it hangs. Trial runs of these short modes
# on 2026-12-02 at load 7-14 (eight engineers on the box) took: checkout 108 s, flash_sale 172 s,
# outbox_relay 55 s, serving 163 s, hot_redis_client 19 s, redis_fsync 11 s; search went past its
# cap both with 10,000 products (155 s) and 2,000 (104 s): browse measures search on the
# 10,000-product catalog, this one compares OpenSearch with PostgreSQL. browse went past 300 s at
# load 12-22 (seeding 10,000 products and warming ~4,000 paths take most of it). Every run's own duration
# and load are in docs/benchmarks.md's runs table.
BENCHES = [
    Bench(
        "checkout",
        (),
        150,
        "checkout:",
        rows_checkout_all,
        env={
            "CHECKOUT_SECONDS": "4",
            "READ_SECONDS": "3",
            "CHECKOUT_RATES": "50 100 200 400 700 1000 1500",
            "READ_RATES": "2000 5000 10000 15000 20000",
        },
        figures=checkout_figures,
    ),
    Bench(
        "flash_sale",
        ("--quick", "--drain-units", "20000", "--drain-baseline-seconds", "8"),
        200,
        "purchase:",
        rows_flash_sale,
        figures=flash_sale_figures,
    ),
    Bench("outbox_relay", ("20000",), 100, "relay:", rows_outbox_relay),
    Bench("browse", ("--duration", "8s"), 330, "browse:", rows_browse),
    Bench(
        "search",
        ("--products", "2000", "--rate", "60", "--duration", "6s"),
        100,
        "search (OpenSearch)",
        rows_search,
        figures=search_figures,
    ),
    Bench(
        "serving",
        ("--duration", "2", "--web", "gunicorn,uvicorn", "--hot", "uvicorn,granian-asgi"),
        160,
        "serving:",
        rows_serving,
        figures=serving_figures,
    ),
    Bench(
        "hot_redis_client",
        ("--rounds", "1", "--seconds", "1.5", "--concurrency", "1,256"),
        25,
        "evalsha at ",
        rows_hot_redis,
        figures=hot_redis_figures,
    ),
    Bench(
        "redis_fsync",
        ("--rounds", "1", "--seconds", "3"),
        25,
        "redis fsync:",
        rows_fsync,
        figures=fsync_figures,
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
