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
import contextlib
import json
import os
import platform
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
import leftovers  # noqa: E402
from bench_lines import NONE, Row, _replace, last_line, parse_line  # noqa: E402, F401 (tests read parse_line here)
from benches import BENCHES, Bench, bench_for_output  # noqa: E402
from chart import chart  # noqa: E402

# ---- running -------------------------------------------------------------------------------------


@dataclass
class Run:
    bench: str
    seconds: float
    status: str  # "ok", "exit 3", "timeout", "skipped: ..."
    load_before: str
    load_after: str
    line: str = ""
    load_max: float | None = None  # the highest 1-minute load average seen while it ran
    started: str = ""  # UTC, ISO
    left: list[str] | None = None  # databases, topics, indices, Redis dbs that appeared and stayed (None: not checked)
    exposed: list[str] | None = None  # sockets it listened on beyond loopback while it ran (None: not checked)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """What the figures were measured on: cores, memory, CPU, OS (the load goes with each run)."""
    memory = "?"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        system = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        system = ""
    return f"{os.cpu_count()} cores ({cpu}), {memory}, {system or platform.system()} (kernel {platform.release()})"


def _save_run(run: Run, log_dir: Path) -> None:
    (log_dir / f"{run.bench}.run.json").write_text(json.dumps(run.__dict__))


def _read_run(bench: str, log_dir: Path) -> Run | None:
    try:
        return Run(**json.loads((log_dir / f"{bench}.run.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def run_bench(
    bench: Bench, timeout: float, log_dir: Path, bench_dir: Path = BENCH_DIR, check_leftovers: bool = True
) -> tuple[str, Run]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{bench.name}.log"
    env = {**os.environ, **{k: os.environ.get(f"REPORT_{k}", v) for k, v in bench.env.items()}}
    extra = os.environ.get(f"REPORT_ARGS_{bench.name.upper()}")
    args = extra.split() if extra is not None else list(bench.args)
    command = [str(bench_dir / bench.name), *args]
    shown = " ".join([*(f"{k}={env[k]!r}" for k in bench.env), *command[1:]]) or "(defaults)"
    print(f"[report] {bench.name}: {shown} (at most {timeout:.0f}s)", flush=True)
    before = leftovers.snapshot() if check_leftovers else None
    load_before, started = _load(), time.monotonic()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    chunks: list[str] = []
    peak = [os.getloadavg()[0]]
    listening_before, exposed = leftovers.exposed_listeners(), set()
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
    deadline = time.monotonic() + timeout
    while process.poll() is None:  # the load average every 2 s while it runs (its peak is reported)
        if time.monotonic() >= deadline:
            status = "timeout"
            _stop(process)
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(min(2.0, max(0.05, deadline - time.monotonic())))
        peak.append(os.getloadavg()[0])
        exposed |= leftovers.exposed_listeners() - listening_before  # loopback only: anything else is named
    reader.join(10)
    if status == "ok" and process.returncode:
        status = f"exit {process.returncode}"
    output = "".join(chunks)
    line = last_line(output, bench.prefix) or ""
    seconds, load_after = time.monotonic() - started, _load()
    left = leftovers.left_behind(before, leftovers.snapshot()) if before is not None else None
    if left:
        print(f"[report] {bench.name} left behind: {', '.join(left)}", flush=True)
    if exposed:
        print(f"[report] {bench.name} listened beyond loopback: {', '.join(sorted(exposed))}", flush=True)
    run = Run(bench.name, seconds, status, load_before, load_after, line, max(peak), started_at, left, sorted(exposed))
    _save_run(run, log_dir)
    return output, run


# A benchmark past its cap gets SIGTERM (its EXIT trap stops its servers and drops its database;
# browse's supervisord takes up to ~30 s to stop its stack), then SIGKILL.
STOP_GRACE = 30


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 5)):
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
        f"Written by `scripts/bench/report` ({mode}) on {when} at commit {_git_head()}.",
        "",
        f"Machine: {machine()}; the load generator runs on the same machine. One run each: the box may be "
        "shared, so read every figure with the load average of its run (below). The baseline of each row ran "
        "in the same benchmark run.",
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
            "| benchmark | started (UTC) | status | seconds | load average (1, 5, 15 min) before → after | "
            "peak 1-min load | left behind | listened beyond loopback | last line |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        parts += [
            f"| `scripts/bench/{r.bench}` | {r.started.replace('T', ' ').rstrip('Z') or NONE} | {r.status} | "
            f"{r.seconds:.0f} | {r.load_before} → {r.load_after} | "
            f"{f'{r.load_max:.2f}' if r.load_max is not None else NONE} | "
            f"{NONE if r.left is None else ', '.join(r.left) or 'nothing'} | "
            f"{NONE if r.exposed is None else ', '.join(r.exposed) or 'no'} | "
            + (f"`{r.line.replace('|', chr(92) + '|')}` |" if r.line else f"{NONE} |")
            for r in runs
        ]
        total = sum(r.seconds for r in runs)
        parts += [
            "",
            f'All runs together: {total:.0f} s ({total / 60:.1f} min). "Left behind" is what appeared on the '
            "shared PostgreSQL, Kafka, OpenSearch and Redis while the benchmark ran and was still there after it "
            "(the report removes nothing); on a machine others use at the same time, their databases and topics "
            "show up there too.",
            "",
        ]
    parts += [
        "Reproduce: `scripts/bench/report` (all, bounded), `scripts/bench/report --from-logs` (redraw from the "
        "last run's logs in `.local/bench/report/`), or each `scripts/bench/<name>` alone.",
        "",
    ]
    return "\n".join(parts)


def _where_from(runs: list[Run]) -> str:
    """The machine and the load the figures came from, for the README (the docs page has per run)."""
    text = f"Machine: {machine()}, the load generator on the same box."
    peaks = [r.load_max for r in runs if r.load_max is not None]
    days = sorted({r.started[:10] for r in runs if r.started})
    if peaks:
        low, high = min(peaks), max(peaks)
        text += f" Runs of {', '.join(days)}; peak 1-minute load average while they ran: {low:.1f} to {high:.1f}."
    return text


def update_readme(readme: Path, rows: list[Row], link: str, runs: list[Run] | None = None) -> bool:
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = f"\n{_where_from(runs or [])}\n\n{table(rows)}\n\nChart, load averages and the runs: [{link}]({link}).\n"
    readme.write_text(head + README_START + body + README_END + tail)
    return True


# ---- command line ----------------------------------------------------------------------------------


def _with_status(rows: list[Row], status: str) -> list[Row]:
    """A run that did not end well says so in its rows' notes (its figures, if any, are partial)."""
    if status == "ok":
        return rows
    return [_replace(r, note=f"{status}; {r.note}".rstrip("; ")) for r in rows]


RENDER_RESERVE = 45  # seconds of the budget kept for stopping a benchmark past its cap (STOP_GRACE) and the rendering


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated benchmark names (default: every one present)")
    parser.add_argument("--budget", type=int, default=1200, help="seconds for the whole run (default 1200)")
    parser.add_argument("--from-logs", nargs="?", const=str(LOG_DIR), metavar="DIR", help="re-read saved logs")
    parser.add_argument("--parse-only", nargs="+", metavar="FILE", help="read saved outputs, run nothing")
    parser.add_argument("--list", action="store_true", help="print each benchmark's short mode and cap, run nothing")
    parser.add_argument(
        "--out",
        help="the markdown file (default docs/benchmarks.md for a whole run or --from-logs; a partial run "
        "(--only, --parse-only) writes .local/bench/report/benchmarks.md so it never replaces the published table)",
    )
    parser.add_argument("--chart", help="the PNG (default: next to --out, same name)")
    parser.add_argument("--readme", help="README to fill (default README.md when writing docs/; '' = leave it)")
    args = parser.parse_args(argv)

    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - {b.name for b in BENCHES}
    if unknown:
        known = ", ".join(b.name for b in BENCHES)
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (known: {known})")
    benches = [b for b in BENCHES if wanted is None or b.name in wanted]
    if args.list:
        for bench in benches:
            extra = " ".join(f"{k}={v!r}" for k, v in bench.env.items())
            print(f"{bench.name:<18} at most {bench.timeout:>4}s  {' '.join(bench.args)}  {extra}".rstrip())
        print(f"{'total':<18} at most {sum(b.timeout for b in benches):>4}s (budget {args.budget}s)")
        return 0
    partial = bool(args.parse_only) or (wanted is not None and not args.from_logs)
    out = Path(args.out) if args.out else (LOG_DIR if partial else ROOT / "docs") / "benchmarks.md"
    readme = args.readme if args.readme is not None else ("" if partial else str(ROOT / "README.md"))
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
                parsed = bench.parse(log.read_text())
                run = _read_run(bench.name, Path(args.from_logs))
                if run is not None:
                    runs.append(run)
                    parsed = _with_status(parsed, run.status)
                rows += parsed
    else:
        mode = "one run of every benchmark" if wanted is None else f"a run of {', '.join(b.name for b in benches)}"
        caps = sum(b.timeout for b in benches)
        print(
            f"[report] {len(benches)} benchmarks, caps {caps}s in all, budget {args.budget}s "
            f"({RENDER_RESERVE}s kept for stopping a late one and drawing); load now {_load()}; machine: {machine()}",
            flush=True,
        )
        if caps > args.budget - RENDER_RESERVE:
            print(f"[report] warning: the caps ({caps}s) exceed the budget: the last ones may be skipped", flush=True)
        if wanted is None:  # a whole run: no earlier run's log may be read back as if it were this run's
            for stale in [*LOG_DIR.glob("*.log"), *LOG_DIR.glob("*.run.json")] if LOG_DIR.exists() else []:
                stale.unlink()
        deadline = time.monotonic() + args.budget - RENDER_RESERVE
        for bench in benches:
            if not (BENCH_DIR / bench.name).exists():
                print(f"[report] {bench.name}: not in scripts/bench/, left out")
                continue
            remaining = deadline - time.monotonic()
            if remaining < 30:
                runs.append(Run(bench.name, 0, f"skipped: {args.budget}s budget spent", _load(), _load()))
                rows += [_replace(r, note="skipped: budget spent") for r in bench.rows({})]
                continue
            output, run = run_bench(bench, min(bench.timeout, remaining), LOG_DIR)
            runs.append(run)
            print(f"[report] {bench.name}: {run.status} in {run.seconds:.0f}s (load {run.load_after})", flush=True)
            rows += _with_status(bench.parse(output), run.status)
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
    chart_path = Path(args.chart) if args.chart else out.with_suffix(".png")
    chart(rows, chart_path)
    rel_chart = os.path.relpath(chart_path, out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document(rows, runs, rel_chart, mode))
    print(f"[report] wrote {out} and {chart_path}")
    if readme and update_readme(Path(readme), rows, os.path.relpath(out, Path(readme).parent), runs):
        print(f"[report] filled the table in {readme}")
    if runs:
        print(f"[report] {sum(r.seconds for r in runs):.0f}s of benchmarks in all")
    failed = [r for r in runs if r.status != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
