"""scripts/bench/report: every benchmark in scripts/bench/ in turn, one table, one chart.

    scripts/bench/report                       # run them all (bounded: --budget seconds, default 1200)
    scripts/bench/report --only checkout,flash_sale
    scripts/bench/report --from-logs DIR       # re-read the logs a run left in DIR (default .local/bench/report)
    scripts/bench/report --parse-only FILE...  # read saved outputs; which benchmark each is comes from its lines

Each benchmark ends with a fixed last line (`checkout: 1234/s p99 80.1 ms | naive: 59/s | ...`);
the report parses that line only, so a benchmark may print whatever it likes above it. The table
(scenario, the seed's figure, the target, ours, the baseline of the same run, ours / baseline) goes
to stdout, to docs/benchmarks.md and between the `<!-- bench-report -->` markers of the README; the
chart (throughput achieved against p99, per scenario) to docs/benchmarks.png. Every run's full
output is kept in .local/bench/report/<name>.log, so `--from-logs` redraws without re-running.

Loopback only (the benchmarks themselves bind 127.0.0.1); each benchmark gets short durations
and a time cap, and the whole run a budget: what does not fit is reported as skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BENCH_DIR = ROOT / "scripts" / "bench"
LOG_DIR = ROOT / ".local" / "bench" / "report"
README_START = "<!-- bench-report -->"
README_END = "<!-- /bench-report -->"


# The benchmarks and their rows live beside this file (bench_scenarios.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scenarios import (  # noqa: E402
    BENCHES,
    NONE,
    Bench,
    Row,
    _num,
    _replace,
    bench_for_output,
    last_line,
    parse_line,  # noqa: F401 (tests/test_bench_report.py reads it from here)
)

# ---- running -------------------------------------------------------------------------------------


@dataclass
class Run:
    bench: str
    seconds: float
    status: str  # "ok", "exit 3", "timeout", "skipped: ..."
    load_before: str
    load_after: str
    line: str = ""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_bench(bench: Bench, timeout: float, log_dir: Path, bench_dir: Path = BENCH_DIR) -> tuple[str, Run]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{bench.name}.log"
    env = {**os.environ, **{k: os.environ.get(f"REPORT_{k}", v) for k, v in bench.env.items()}}
    extra = os.environ.get(f"REPORT_ARGS_{bench.name.upper()}")
    args = extra.split() if extra is not None else list(bench.args)
    command = [str(bench_dir / bench.name), *args]
    print(f"[report] {bench.name}: {' '.join(command[1:]) or '(defaults)'} (at most {timeout:.0f}s)", flush=True)
    load_before, started = _load(), time.monotonic()
    chunks: list[str] = []
    # A session of its own, so a timeout stops the benchmark and every server it started.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def pump() -> None:
        with log_path.open("w") as log:
            for line in process.stdout:
                chunks.append(line)
                log.write(line)
                log.flush()
                sys.stdout.write(f"  | {line}")
                sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    status = "ok"
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        status = "timeout"
        _stop(process)
    reader.join(10)
    if status == "ok" and process.returncode:
        status = f"exit {process.returncode}"
    output = "".join(chunks)
    line = (last_line(output, bench.prefix) or "") if bench.figures is None else ""
    return output, Run(bench.name, time.monotonic() - started, status, load_before, _load(), line)


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---- output --------------------------------------------------------------------------------------


def _fmt_rate(rate: float | None, p99: float | None = None) -> str:
    if rate is None:
        return NONE
    text = f"{rate:,.0f}/s"
    return f"{text} at p99 {p99:.1f} ms" if p99 is not None else text


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | seed's figure | target | ours | baseline (same run) | ours ÷ baseline | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        baseline = f"{_fmt_rate(row.baseline_rate)} ({row.baseline_label})" if row.baseline_rate else NONE
        ratio = f"{row.ratio:.1f}x" if row.ratio else NONE
        ours = _fmt_rate(row.ours_rate, row.ours_p99)
        lines.append(f"| {row.scenario} | {row.seed} | {row.target} | **{ours}** | {baseline} | {ratio} | {row.note} |")
    return "\n".join(lines)


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


def _git_head() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def document(rows: list[Row], runs: list[Run], chart_name: str, mode: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        f"Written by `scripts/bench/report` ({mode}) on {when} at commit {_git_head()}, on {os.cpu_count()} cores "
        "with the load generator on the same machine. One run each: the box may be shared, so read every "
        "figure with the load average beside it. The baseline of each row ran in the same benchmark run.",
        "",
        table(rows),
        "",
        f"![throughput achieved against p99 per scenario]({chart_name})",
        "",
    ]
    if runs:
        parts += [
            "## Runs",
            "",
            "| benchmark | status | seconds | load average before → after | last line |",
            "| --- | --- | --- | --- | --- |",
        ]
        parts += [
            f"| `scripts/bench/{r.bench}` | {r.status} | {r.seconds:.0f} | {r.load_before} → {r.load_after} | "
            f"`{r.line}` |"
            for r in runs
        ]
        parts.append("")
    parts += [
        "Reproduce: `scripts/bench/report` (all, bounded), `scripts/bench/report --from-logs` (redraw from the "
        "last run's logs in `.local/bench/report/`), or each `scripts/bench/<name>` alone.",
        "",
    ]
    return "\n".join(parts)


def update_readme(readme: Path, rows: list[Row], link: str) -> bool:
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = f"\n{table(rows)}\n\nChart, load averages and the runs: [{link}]({link}).\n"
    readme.write_text(head + README_START + body + README_END + tail)
    return True


# ---- command line ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated benchmark names (default: every one present)")
    parser.add_argument("--budget", type=int, default=1200, help="seconds for the whole run (default 1200)")
    parser.add_argument("--from-logs", nargs="?", const=str(LOG_DIR), metavar="DIR", help="re-read saved logs")
    parser.add_argument("--parse-only", nargs="+", metavar="FILE", help="read saved outputs, run nothing")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="the markdown file")
    parser.add_argument("--chart", help="the PNG (default: next to --out, same name)")
    parser.add_argument("--readme", default=str(ROOT / "README.md"), help="README to fill ('' = leave it)")
    args = parser.parse_args(argv)

    wanted = set(args.only.split(",")) if args.only else None
    benches = [b for b in BENCHES if wanted is None or b.name in wanted]
    rows: list[Row] = []
    runs: list[Run] = []
    if args.parse_only:
        mode = "from saved outputs"
        found: dict[str, list[Row]] = {}
        for name in args.parse_only:
            output = Path(name).read_text()
            bench = bench_for_output(output)
            if bench is None:
                print(f"[report] {name}: no benchmark's result line in it", file=sys.stderr)
                continue
            found[bench.name] = bench.parse(output)
        rows = [row for bench in BENCHES for row in found.get(bench.name, [])]  # the table's usual order
    elif args.from_logs:
        mode = f"from the logs in {args.from_logs}"
        for bench in benches:
            log = Path(args.from_logs) / f"{bench.name}.log"
            if log.exists():
                rows += bench.parse(log.read_text())
    else:
        mode = "one run of every benchmark"
        deadline = time.monotonic() + args.budget
        for bench in benches:
            if not (BENCH_DIR / bench.name).exists():
                print(f"[report] {bench.name}: not in scripts/bench/, left out")
                continue
            remaining = deadline - time.monotonic()
            if remaining < 60:
                runs.append(Run(bench.name, 0, f"skipped: {args.budget}s budget spent", _load(), _load()))
                rows += [_replace(r, note="skipped: budget spent") for r in bench.rows({})]
                continue
            output, run = run_bench(bench, min(bench.timeout, remaining), LOG_DIR)
            runs.append(run)
            parsed = bench.parse(output)
            if run.status != "ok":
                parsed = [_replace(r, note=f"{run.status}; {r.note}".rstrip("; ")) for r in parsed]
            rows += parsed
        others = sorted(
            p.name
            for p in BENCH_DIR.iterdir()
            if p.is_file()
            and os.access(p, os.X_OK)
            and p.suffix == ""
            and p.name != "report"
            and p.name not in {b.name for b in BENCHES}
        )
        if others:
            print(f"[report] not in the table (no fixed result line known to the report): {', '.join(others)}")

    if not rows:
        print("[report] nothing to report", file=sys.stderr)
        return 1
    print(table(rows))
    out = Path(args.out)
    chart_path = Path(args.chart) if args.chart else out.with_suffix(".png")
    chart(rows, chart_path)
    rel_chart = os.path.relpath(chart_path, out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document(rows, runs, rel_chart, mode))
    print(f"[report] wrote {out} and {chart_path}")
    if args.readme and update_readme(Path(args.readme), rows, os.path.relpath(out, Path(args.readme).parent)):
        print(f"[report] filled the table in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
