"""Serving-topology benchmark: which server runs Django, which runs the hot path, and the edge's cost.

Driven by scripts/bench/serving (which prepares the database). For every candidate it starts the
server with the exact command line config/topology.py renders for scripts/run (2 workers, 127.0.0.1),
then offers fixed-rate load with vegeta (open model: requests leave on schedule whatever the
latency). A short closed-loop probe first estimates the capacity C; the fixed-rate ladder then
tries 25%, 50%, 75%, 100% of C and keeps the highest rate whose p99 stays within --p99 ms with
>= 99% answered 2xx. Finally the chosen topology runs whole (nginx edge + both servers, the
supervisord config scripts/run uses) and the same routes are measured through the edge.

Last lines: `serving capacity: <scenario> <C>/s | ...` and
`serving: <scenario> <n>/s p99 <ms> ms | ... | chosen: web=<s> hot=<s>` (scripts/bench/report parses it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from config.topology import DEFAULT_HOT_SERVER, DEFAULT_WEB_SERVER, Topology, server_command  # noqa: E402

LOG_DIR = ROOT / ".local" / "log" / "bench-serving"


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 (our own loopback http URL)
            return
        except urllib.error.HTTPError as exc:  # an app answer (401/404) is up too
            if exc.code not in (502, 503, 504):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def vegeta_attack(vegeta: str, url: str, rate: int, duration: float, workers: int | None = None) -> dict:
    """rate 0 = as fast as `workers` connections go (the capacity probe)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write(json.dumps({"method": "GET", "url": url, "header": {"Host": ["localhost"]}}) + "\n")
        path = handle.name
    command = [vegeta, "attack", "-format=json", f"-targets={path}", f"-duration={duration}s", "-timeout=5s"]
    if rate == 0:
        command += ["-rate=0", f"-max-workers={workers or 32}"]
    else:
        command += [f"-rate={rate}/s", "-max-workers=2000"]
    try:
        attack = subprocess.run(command, capture_output=True, check=True)
        report = subprocess.run([vegeta, "report", "-type=json"], input=attack.stdout, capture_output=True, check=True)
    finally:
        os.unlink(path)
    data = json.loads(report.stdout)
    codes = data.get("status_codes") or {}
    ok = sum(n for code, n in codes.items() if code.startswith("2"))
    return {
        "rate": rate,
        "p50": data["latencies"]["50th"] / 1e6,
        "p99": data["latencies"]["99th"] / 1e6,
        "throughput": data["throughput"],
        "ok_ratio": ok / max(1, data["requests"]),
        "codes": codes,
    }


def measure(vegeta: str, name: str, url: str, duration: float, p99_limit: float) -> dict:
    """Capacity probe, then the fixed-rate ladder; the best passing step (rate 0 if none passed)."""
    vegeta_attack(vegeta, url, 0, 1.0, workers=8)  # warm-up: imports, connections, caches
    probe = vegeta_attack(vegeta, url, 0, min(duration, 3.0), workers=32)
    capacity = max(50, int(probe["throughput"]))
    best = {"rate": 0, "p50": 0.0, "p99": float("inf"), "capacity": capacity}
    for share in (0.25, 0.5, 0.75, 1.0):
        rate = max(25, int(capacity * share / 25) * 25)
        step = vegeta_attack(vegeta, url, rate, duration)
        good = step["p99"] <= p99_limit and step["ok_ratio"] >= 0.99
        log(
            f"  {name:<34} {rate:>6}/s  p50 {step['p50']:7.2f} ms  p99 {step['p99']:8.2f} ms  "
            f"codes {step['codes']}  {'PASS' if good else 'FAIL'}"
        )
        if not good:
            break
        best = step | {"capacity": capacity}
        time.sleep(0.5)
    log(f"  {name:<34} capacity (closed loop, 32 conns) {capacity}/s -> best fixed rate {best['rate']}/s")
    return best


class Server:
    def __init__(self, command: list[str], port: int, name: str) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log = LOG_DIR / f"{name}.log"
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(5)


def fmt(step: dict) -> str:
    return f"{step['rate']}/s p99 {step['p99']:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vegeta", required=True)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per fixed-rate step")
    parser.add_argument("--p99", type=float, default=100.0, help="p99 limit in ms for a passing step")
    parser.add_argument("--list-path", default="/api/v1/flash-sales")
    parser.add_argument("--sku", required=True, help="a SKU for the hot inventory read")
    parser.add_argument("--web", default="gunicorn,granian-wsgi,granian-asgi,uvicorn")
    parser.add_argument("--hot", default="uvicorn,granian-asgi")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))
    args = parser.parse_args()
    results: list[tuple[str, dict]] = []
    log(f"[bench] load: vegeta fixed rate, {args.duration:.0f}s per step, pass = p99 <= {args.p99:.0f} ms")
    log(f"[bench] servers: {args.workers} workers each (WSGI threads {args.threads}); logs in {LOG_DIR}")

    routes = {"healthz": "/healthz", "list": args.list_path}
    for kind in [k for k in args.web.split(",") if k]:
        app = "wsgi" if kind in ("gunicorn", "granian-wsgi") else "asgi"
        port = free_port()
        server = Server(server_command(kind, app, port, args.workers, args.threads), port, f"web-{kind}")
        try:
            wait_http(server.url + "/healthz")
            for route, path in routes.items():
                step = measure(args.vegeta, f"django {route} on {kind}", server.url + path, args.duration, args.p99)
                results.append((f"{route} {kind}", step))
        finally:
            server.stop()

    for kind in [k for k in args.hot.split(",") if k]:
        port = free_port()
        server = Server(server_command(kind, "asgi", port, args.workers, 1), port, f"hot-{kind}")
        try:
            wait_http(server.url + "/healthz")
            url = f"{server.url}/api/v1/inventory/{args.sku}"
            step = measure(args.vegeta, f"hot inventory read on {kind}", url, args.duration, args.p99)
            results.append((f"hot {kind}", step))
        finally:
            server.stop()

    # The chosen topology, whole: the supervisord config scripts/run runs, here with edge + servers.
    out = Path(tempfile.mkdtemp(prefix="nc-bench-serving-"))
    topology = Topology(
        out=out, log_dir=LOG_DIR / "stack", edge_port=free_port(), web_port=free_port(), hot_port=free_port(),
        only=["web", "hot", "edge"], web_workers=args.workers, hot_workers=args.workers, web_threads=args.threads,
    )  # fmt: skip
    conf = topology.render()
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-c", str(conf)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_http(topology.url + "/healthz")
        wait_http(topology.url + f"/api/v1/inventory/{args.sku}")
        for route, path in {**routes, "hot": f"/api/v1/inventory/{args.sku}"}.items():
            step = measure(args.vegeta, f"via edge: {route}", topology.url + path, args.duration, args.p99)
            results.append((f"edge {route}", step))
    finally:
        supervisord.terminate()
        supervisord.wait(60)

    log("")
    log(f"{'scenario':<26} {'best fixed rate':>16} {'p50':>9} {'p99':>9} {'capacity':>10}")
    for name, step in results:
        log(f"{name:<26} {step['rate']:>14}/s {step['p50']:>7.1f}ms {step['p99']:>7.1f}ms {step['capacity']:>8}/s")
    chosen = f"chosen: web={topology.web_server} hot={topology.hot_server}"
    if (topology.web_server, topology.hot_server) != (DEFAULT_WEB_SERVER, DEFAULT_HOT_SERVER):
        chosen += " (overridden by WEB_SERVER/HOT_SERVER)"
    # Capacity (closed loop) too: on a shared, loaded box it is steadier than the fixed-rate tail.
    log("serving capacity: " + " | ".join(f"{name} {step['capacity']}/s" for name, step in results))
    # Parsed by scripts/bench/report (serving_figures): keep the format.
    log("serving: " + " | ".join(f"{name} {fmt(step)}" for name, step in results) + f" | {chosen}")


if __name__ == "__main__":
    main()
