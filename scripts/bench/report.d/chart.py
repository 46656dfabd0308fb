"""docs/benchmarks.png: throughput achieved against p99 per scenario, throughput-only rows as bars."""

from __future__ import annotations

import re
from pathlib import Path

from bench_lines import Row, _num


def chart(rows: list[Row], path: Path) -> None:
    """Throughput achieved against p99 per scenario; throughput-only scenarios as bars beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    with_p99 = [r for r in rows if r.ours_rate and r.ours_p99 is not None]
    rate_only = [r for r in rows if r.ours_rate and r.ours_p99 is None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, row in enumerate(with_p99):
        color = colors[index % len(colors)]
        left.scatter([row.ours_p99], [row.ours_rate], s=80, color=color, label=row.scenario, zorder=3)
        left.annotate(
            f"{row.ours_rate:,.0f}/s",
            (row.ours_p99, row.ours_rate),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
        target = re.search(r"([\d,]+)/s at p99 ([\d.]+) ms", row.seed)
        if target:
            left.scatter([float(target[2])], [_num(target[1])], s=80, facecolors="none", edgecolors=color, zorder=3)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("p99 latency (ms)")
    left.set_ylabel("throughput achieved (/s)")
    left.set_title("Throughput vs p99 (filled: ours; hollow: the seed's figure)")
    left.grid(True, which="both", alpha=0.3)
    if with_p99:
        left.legend(fontsize=8, loc="best")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _pos: f"{value:,.0f}")
    for axis in (left.xaxis, left.yaxis):
        axis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    positions = list(range(len(rate_only)))
    right.barh([p + 0.2 for p in positions], [r.ours_rate for r in rate_only], height=0.4, label="ours")
    right.barh([p - 0.2 for p in positions], [r.baseline_rate or 0 for r in rate_only], height=0.4, label="baseline")
    for position, row in zip(positions, rate_only, strict=True):
        target = re.search(r"([\d,]+)\s*(?:events|orders)?/s", row.target)
        if target:
            right.plot([_num(target[1])] * 2, [position - 0.45, position + 0.45], color="black", linestyle="--")
    right.set_yticks(positions, [r.scenario for r in rate_only], fontsize=8)
    right.xaxis.set_major_formatter(plain)
    right.set_xlabel("throughput (/s); dashed: the target")
    right.set_title("Throughput only (no p99 in their result)")
    right.grid(True, axis="x", alpha=0.3)
    if rate_only:
        right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
