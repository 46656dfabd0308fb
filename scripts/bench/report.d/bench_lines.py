"""The fixed last lines of scripts/bench/*: how a line parses into figures, and the table row it becomes.

Shared by bench_scenarios.py (one parser and one set of rows per benchmark), benches.py (which
benchmarks the report runs, in which short mode) and report.py (running, the table, the chart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _replace(row: Row, **changes) -> Row:
    return Row(**{**row.__dict__, **changes})
