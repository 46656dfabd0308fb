"""scripts/bench/report: the fixed last lines parse, the table and the chart come out, the README fills.

Runs no benchmark: saved outputs only (the --parse-only path the report shares with a real run).
"""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "scripts" / "bench" / "report.d" / "report.py"

CHECKOUT = """[bench] load average at the start: 1.2 1.0 0.9
  inventory read (hot)       target  20000/s  achieved  19860/s  p50     1.1 ms  p99     7.2 ms  non-2xx 0
[bench] results on 2 cores (wrk shares them with the servers; 2 web workers each):
  checkout (reserve)         1012/s (p99 141.0 ms at target 1000/s)
  checkout (naive row lock)  59/s (p99 120.0 ms at target 50/s)
  inventory read (hot)       19500/s (p99 7.2 ms at target 20000/s)
  trivial hot endpoint       19993/s (p99 6.2 ms at target 20000/s)
[bench] reproduce: scripts/bench/checkout
checkout: 1012/s p99 141.0 ms | naive: 59/s | vs naive: 17.2x | sql/checkout: 7 | cpu/checkout: 3.1 ms
"""
FLASH_SALE = """[bench] sell-out: 20000 units, invariants OK
[bench] drain: batch writer 6120/s vs one by one 71/s (target >= 5000/s)
purchase: 10412/s p99 38.5 ms | naive: 200/s | ceiling: 15001/s | vs naive: 52.1x | vs ceiling: 69% | drain: 6120/s
"""
OUTBOX = """publish() into the outbox:               993 events/s (1000 per transaction)
relay: 21034/s | 2 relays: 19876/s | naive: 1860/s | vs naive: 11.3x | end to end: 20500/s
"""
BROWSE = (
    "browse: 5210/s p99 44.0 ms | search: 3100/s p99 91.0 ms hit 96% | uncached search: 540/s | "
    "baseline: 150/s | staleness: 420 ms\n"
)
_RESULT = "p50_ms=24.00 p90_ms=60.00 p99_ms={p99} max_ms=1500.00 errors=0 non2xx=0"
SEARCH = "\n".join(
    [
        "[bench] seed_demo --products 2000",
        "[bench] offered load ~60 req/s (8 connections, 133 ms apart each), 8s per scenario",
        "search (OpenSearch)          requests=480 seconds=8.0 rate=59.9 " + _RESULT.format(p99="118.00"),
        "search (PostgreSQL FTS)      requests=200 seconds=8.0 rate=25.0 " + _RESULT.format(p99="1200.00"),
        "catalog list                 requests=312 seconds=8.0 rate=39.0 " + _RESULT.format(p99="276.00"),
        "[bench] reproduce: scripts/bench/search --products 10000 --rate 60 --duration 8s",
    ]
)
SERVING = (
    "serving: healthz gunicorn 2500/s p99 12.0 ms | list gunicorn 900/s p99 40.0 ms | healthz uvicorn 333/s p99 "
    "48.0 ms | list uvicorn 150/s p99 49.0 ms | hot uvicorn 12000/s p99 9.0 ms | edge healthz 2300/s p99 14.0 ms | "
    "edge list 0/s p99 inf ms | edge hot 10000/s p99 11.0 ms | chosen: web=gunicorn hot=uvicorn\n"
)
HOT_REDIS = (
    "get        256 redis-py        786      256.9\n"
    "evalsha at 256 concurrent: hotredis 7377/s 18.4 µs/op | redis-py+hiredis 902/s 276.9 µs/op | "
    "throughput 8.17x | cpu/op 15.06x less\nload after:  07:07:28 up  3:16,  load average: 12.00, 6.58, 3.97\n"
)
FSYNC = (
    "appendfsync everysec      4612 purchases/s  p50   6.17 ms  p99   25.44 ms  (1 runs)\n"
    "redis fsync: everysec 4612/s p99 25.4 ms | always 2752/s p99 30.5 ms | always vs everysec: 0.60x\n"
)
OUTPUTS = {
    "serving": SERVING,
    "checkout": CHECKOUT,
    "flash": FLASH_SALE,
    "outbox": OUTBOX,
    "browse": BROWSE,
    "search": SEARCH,
    "hot_redis": HOT_REDIS,
    "fsync": FSYNC,
}


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("bench_report", REPORT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_report"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_a_fixed_line_parses_into_its_figures(report):
    figures = report.parse_line(CHECKOUT.strip().splitlines()[-1])
    assert figures["checkout"].rate == 1012
    assert figures["checkout"].p99 == 141.0
    assert figures["naive"].rate == 59
    assert figures["vs naive"].factor == 17.2
    assert figures["sql/checkout"].number == 7
    assert figures["cpu/checkout"].ms == 3.1
    assert report.parse_line("a: 1,234/s")["a"].rate == 1234


def test_each_benchmark_is_recognised_and_gives_its_rows(report):
    rows = [row for text in OUTPUTS.values() for row in report.bench_for_output(text).parse(text)]
    by_name = {row.scenario: row for row in rows}
    checkout = by_name["checkout `POST /api/v1/orders`"]
    assert (checkout.ours_rate, checkout.ours_p99, checkout.baseline_rate) == (1012, 141.0, 59)
    assert checkout.ratio == pytest.approx(1012 / 59)
    assert "7 SQL statements" in checkout.note
    assert by_name["flash-sale purchase (hot path)"].ours_p99 == 38.5
    assert by_name["flash-sale drain, reservations → orders"].ours_rate == 6120
    assert by_name["flash-sale drain, reservations → orders"].baseline_rate == 71
    assert by_name["outbox end to end, `publish_many` + relay"].ours_rate == 20500
    assert by_name["outbox relay, DB → Kafka acknowledged"].baseline_rate == 1860
    assert by_name["browse mix (API + storefront, anonymous)"].baseline_rate == 150
    assert by_name["search, Zipf mix of queries"].note == "cache hit 96%"
    healthz = by_name["Django `/healthz` through the edge"]
    assert (healthz.ours_rate, healthz.ours_p99, healthz.baseline_rate) == (2300, 14.0, 333)
    assert healthz.note == "web=gunicorn hot=uvicorn"
    assert by_name["hot inventory read through the edge"].baseline_rate == 12000
    edge_list = by_name["light API list through the edge"]
    assert edge_list.ours_rate == 0
    assert edge_list.ours_p99 is None
    assert edge_list.note.startswith("no fixed rate passed the p99 limit")
    read = by_name["inventory read `GET /api/v1/inventory/{sku}` (hot path)"]
    # The results block's figure, not the ladder step's (19860/s achieved at one step).
    assert (read.ours_rate, read.ours_p99, read.baseline_rate) == (19500, 7.2, 19993)
    hot = by_name["hot Redis client, token-bucket EVALSHA at 256 concurrent"]
    assert (hot.ours_rate, hot.baseline_rate) == (7377, 902)
    assert hot.note == "client CPU 18.4 vs 276.9 µs per command"
    fsync = by_name["flash-sale token + purchase on Redis, AOF `appendfsync everysec`"]
    assert (fsync.ours_rate, fsync.ours_p99, fsync.baseline_rate) == (4612, 25.4, 2752)
    assert fsync.note == "always: p99 30.5 ms"
    assert {row.source for row in rows} == {b.name for b in report.BENCHES}
    paced = by_name["search on OpenSearch, paced (scripts/bench/search)"]
    assert (paced.ours_rate, paced.ours_p99, paced.baseline_rate) == (59.9, 118.0, 25.0)
    assert paced.note == "2,000 products; catalog list: 39/s at p99 276 ms"


def test_an_output_without_its_line_says_so_instead_of_inventing_figures(report):
    for bench in report.BENCHES:
        rows = bench.parse("[bench] wrk failed\n")
        assert rows, bench.name
        for row in rows:
            assert row.ours_rate is None, (bench.name, row)
            assert row.baseline_rate is None, (bench.name, row)
            assert "no result line" in row.note, (bench.name, row)
    assert report.bench_for_output("nothing useful\n") is None


def test_parse_only_writes_the_table_the_chart_and_fills_the_readme(tmp_path):
    files = []
    for name, text in OUTPUTS.items():
        path = tmp_path / f"{name}.log"
        path.write_text(text)
        files.append(str(path))
    readme = tmp_path / "README.md"
    readme.write_text("# X\n\n<!-- bench-report -->\nold table\n<!-- /bench-report -->\n\nafter\n")
    out = tmp_path / "docs" / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, str(REPORT), "--parse-only", *files, "--out", str(out), "--readme", str(readme)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = out.read_text()
    assert "| scenario | seed's figure | target | ours | baseline (same run) | ours ÷ baseline | notes |" in document
    assert "| checkout `POST /api/v1/orders` | 2,000/s at p99 150 ms |" in document
    assert "**1,012/s at p99 141.0 ms**" in document
    assert "17.2x" in document
    assert "![throughput achieved against p99 per scenario](benchmarks.png)" in document
    png = (tmp_path / "docs" / "benchmarks.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
    filled = readme.read_text()
    assert "old table" not in filled
    assert "**10,412/s at p99 38.5 ms**" in filled
    assert filled.endswith("<!-- /bench-report -->\n\nafter\n")


def test_a_run_keeps_the_log_and_a_benchmark_past_its_cap_is_stopped_with_its_children(report, tmp_path):
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    (bench_dir / "checkout").write_text(
        "#!/bin/sh\necho warming up\necho 'checkout: 900/s p99 120.5 ms | naive: 60/s | vs naive: 15.0x'\n"
    )
    pid_file = tmp_path / "child.pid"
    (bench_dir / "flash_sale").write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n")
    for script in bench_dir.iterdir():
        script.chmod(0o755)
    benches = {b.name: b for b in report.BENCHES}

    output, run = report.run_bench(benches["checkout"], 30, tmp_path / "logs", bench_dir)
    assert run.status == "ok"
    assert run.line.startswith("checkout: 900/s")
    assert (tmp_path / "logs" / "checkout.log").read_text() == output
    assert benches["checkout"].parse(output)[0].ours_rate == 900

    _, run = report.run_bench(benches["flash_sale"], 2, tmp_path / "logs", bench_dir)
    assert run.status == "timeout"
    assert run.seconds < 20
    child = int(pid_file.read_text())
    assert _gone(child), "the benchmark's own child process outlived the timeout"


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped yet counts: it no longer runs)."""
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.1)
    return False


def test_the_caps_fit_the_twenty_minutes_with_a_margin(report):
    """The report is bounded to 20 minutes: every benchmark's cap together, plus the rendering, with a margin."""
    caps = sum(bench.timeout for bench in report.BENCHES)
    assert caps + report.RENDER_RESERVE <= 1200 - 60, f"caps add up to {caps}s"
    assert all(bench.timeout <= 360 for bench in report.BENCHES)


def test_every_benchmark_in_scripts_bench_has_rows_in_the_report(report):
    scripts = {
        path.name
        for path in (ROOT / "scripts" / "bench").iterdir()
        if path.is_file() and path.suffix == "" and path.name != "report" and path.stat().st_mode & 0o111
    }
    assert scripts == {bench.name for bench in report.BENCHES}


def test_each_short_mode_uses_options_and_variables_its_benchmark_reads(report):
    """A renamed flag or variable would make a benchmark refuse its short mode (or silently run its long one)."""
    for bench in report.BENCHES:
        source = (ROOT / "scripts" / "bench" / bench.name).read_text()
        helper = ROOT / "scripts" / "bench" / f"{bench.name}.py"
        if helper.exists():
            source += helper.read_text()
        for flag in (arg for arg in bench.args if arg.startswith("--")):
            assert f"{flag})" in source or f'"{flag}"' in source, (bench.name, flag)
        for variable in bench.env:
            assert "${" + variable in source or f'"{variable}"' in source, (bench.name, variable)


def test_a_partial_run_leaves_the_published_table_and_the_readme_alone(report, tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    published = tmp_path / "docs" / "benchmarks.md"
    published.write_text("the lead's table\n")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-report -->\nthe lead's table\n<!-- /bench-report -->\n")
    saved = tmp_path / "serving.log"
    saved.write_text(SERVING)
    monkeypatch.setattr(report, "ROOT", tmp_path)
    monkeypatch.setattr(report, "LOG_DIR", tmp_path / "logs")

    assert report.main(["--parse-only", str(saved)]) == 0

    assert published.read_text() == "the lead's table\n"
    assert "the lead's table" in readme.read_text()
    assert "**10,000/s at p99 11.0 ms**" in (tmp_path / "logs" / "benchmarks.md").read_text()


def test_a_run_names_what_its_benchmark_left_behind_and_the_logs_keep_the_runs(report, tmp_path, monkeypatch):
    """A benchmark that creates a database and does not drop it is named in the runs table (real PostgreSQL)."""
    import psycopg

    name = f"nc_report_leak_{os.getpid()}"
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    (bench_dir / "redis_fsync").write_text(
        f"#!{sys.executable}\nimport psycopg\n"
        f"with psycopg.connect({report.leftovers.PG_ADMIN!r}, autocommit=True) as c:\n"
        f"    c.execute('CREATE DATABASE {name}')\n"
        "print('redis fsync: everysec 4000/s p99 20.0 ms | always 2000/s p99 40.0 ms | always vs everysec: 0.50x')\n"
    )
    (bench_dir / "redis_fsync").chmod(0o755)
    bench = next(b for b in report.BENCHES if b.name == "redis_fsync")
    try:
        _, run = report.run_bench(bench, 60, tmp_path / "logs", bench_dir)
    finally:
        with psycopg.connect(report.leftovers.PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
    assert run.status == "ok"
    assert f"database {name}" in run.left
    assert run.load_max is not None

    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-report -->\n<!-- /bench-report -->\n")
    out = tmp_path / "docs" / "benchmarks.md"
    argv = ["--from-logs", str(tmp_path / "logs"), "--only", "redis_fsync", "--out", str(out), "--readme", str(readme)]
    assert report.main(argv) == 0
    document = out.read_text()
    assert f"{os.cpu_count()} cores" in document
    assert "GiB RAM" in document
    assert f"| `scripts/bench/redis_fsync` | {run.started.replace('T', ' ').rstrip('Z')} | ok |" in document
    assert f"database {name}" in document
    assert "**4,000/s at p99 20.0 ms**" in readme.read_text()


def test_a_listener_beyond_loopback_is_told_from_a_loopback_one(report):
    """/proc/net/tcp{,6} addresses: what the report samples while each benchmark runs (loopback only)."""
    lo = report.leftovers
    cases = {
        "0100007F:1F90": ("127.0.0.1", 8080, True),
        "00000000:0050": ("0.0.0.0", 80, False),  # noqa: S104 (an address parsed, nothing binds it)
        "0A00A8C0:2328": ("192.168.0.10", 9000, False),
        "00000000000000000000000001000000:1F90": ("::1", 8080, True),
        "00000000000000000000000000000000:3A98": ("::", 15000, False),
        "0000000000000000FFFF00000100007F:1F90": ("::ffff:7f00:1", 8080, True),
    }
    for text, (host, port, loopback) in cases.items():
        address, number = lo._hex_address(text)
        assert (str(address), number, lo._loopback(address)) == (host, port, loopback), text
