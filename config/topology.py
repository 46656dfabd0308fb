"""The serving topology, rendered once for every way the shop runs on a machine.

    edge (nginx, :PORT) ──┬── hot routes (flash-sale token/purchase/reservation status,
                          │   GET /api/v1/inventory/{sku})  -> `hot`: config.asgi under uvicorn
                          └── everything else               -> `web`: config.wsgi (Django) under gunicorn gthread

plus the background processes (Celery worker, outbox relay, beat, flash-sale worker, one consumer per
context), every one of them a supervisord program: a process that dies is restarted, with
supervisord's growing back-off when it keeps dying at start, and a line in its log.

`scripts/run` renders the whole set; `tests/stack.py` renders a subset (edge + web + hot, on free
ports, against the test's database) with the same code, so a test through the real stack meets
the same nginx routes, the same server flags and the same supervision. The nginx routes
themselves are `docker/nginx/routes.conf`, the file `docker/compose.yaml` mounts as well.

Why these servers: `scripts/bench/serving` measures Django's side under gunicorn gthread, granian
(WSGI and ASGI) and uvicorn, and the hot routes under uvicorn and granian ASGI (figures and the
choice in README.md, "Serving"). `WEB_SERVER` / `HOT_SERVER` pick another candidate for a
measurement; the default is the measured choice.

    python -m config.topology --out DIR --edge-port 8000 [--consumers user,order] [--only edge,web,hot]
    python -m config.topology serve web|hot --host 0.0.0.0 --port 8000   (containers: docker/, Helm)
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTES_CONF = ROOT / "docker" / "nginx" / "routes.conf"

# Server candidates for the Django side (WSGI or ASGI app) and for the hot routes (ASGI only).
WEB_SERVERS = ("gunicorn", "granian-wsgi", "granian-asgi", "uvicorn")
HOT_SERVERS = ("uvicorn", "granian-asgi")
DEFAULT_WEB_SERVER = "gunicorn"
DEFAULT_HOT_SERVER = "granian-asgi"
# The edge keeps idle upstream connections for 5 s; every app server keeps them longer (10 s), so
# nginx never reuses a connection the server has just closed (a POST on one would be a 502).
UPSTREAM_IDLE_S = 5
SERVER_IDLE_S = 10

BACKGROUND = ("worker", "relay", "beat", "flashsale-worker")


def server_command(kind: str, app: str, port: int, workers: int, threads: int, host: str = "127.0.0.1") -> list[str]:
    """The command line of one app server candidate, bound to host:port (loopback unless a container).

    `app` is "wsgi" or "asgi" (config.wsgi / config.asgi). No server rewrites the client address
    from X-Forwarded-For: nexuscart.client_ip is the only reader of that header (TRUSTED_PROXIES).
    """
    py = sys.executable
    target = f"config.{app}:application"
    if kind == "gunicorn":
        return [
            py, "-m", "gunicorn", target, "--bind", f"{host}:{port}", "--worker-class", "gthread",
            "--workers", str(workers), "--threads", str(threads), "--keep-alive", str(SERVER_IDLE_S),
            "--graceful-timeout", "10", "--timeout", "60", "--no-control-socket",
        ]  # fmt: skip
    if kind in ("granian-wsgi", "granian-asgi"):
        interface = kind.split("-", 1)[1]
        command = [
            py, "-m", "granian", "--interface", interface, target, "--host", host, "--port", str(port),
            "--workers", str(workers), "--no-ws", "--log-level", "warning", "--http1-keep-alive",
            "--workers-kill-timeout", "10",
            # Without it granian's master exits when one worker dies (kill -9, OOM), taking every
            # worker down until supervisord restarts it (~15 s of 502s on the storefront here).
            "--respawn-failed-workers", "--respawn-interval", "1",
        ]  # fmt: skip
        if interface == "wsgi":
            command += ["--blocking-threads", str(threads)]
        return command
    if kind == "uvicorn":
        return [
            py, "-m", "uvicorn", target, "--host", host, "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
            "--timeout-keep-alive", str(SERVER_IDLE_S), "--timeout-graceful-shutdown", "10",
        ]  # fmt: skip
    raise ValueError(f"unknown server {kind!r}: one of {WEB_SERVERS}")


@dataclass
class Topology:
    """Everything one running stack needs; `render()` writes its nginx.conf and supervisord.conf."""

    out: Path  # configs, pid files, nginx temp paths, supervisord's socket
    edge_port: int
    web_port: int
    hot_port: int
    log_dir: Path | None = None  # default out/log
    web_server: str = field(default_factory=lambda: os.environ.get("WEB_SERVER", DEFAULT_WEB_SERVER))
    hot_server: str = field(default_factory=lambda: os.environ.get("HOT_SERVER", DEFAULT_HOT_SERVER))
    web_workers: int = field(default_factory=lambda: int(os.environ.get("WEB_WORKERS", "2")))
    web_threads: int = field(default_factory=lambda: int(os.environ.get("WEB_THREADS", "8")))
    hot_workers: int = field(default_factory=lambda: int(os.environ.get("HOT_WORKERS", "2")))
    edge_workers: str = field(default_factory=lambda: os.environ.get("EDGE_WORKERS", "1"))
    consumers: list[str] = field(default_factory=list)  # consume_events groups
    only: list[str] | None = None  # program names to include (default: all)
    # supervisord gives up on a program after this many failed starts in a row (each waits one
    # second longer than the last): 60 attempts span half an hour of a dependency being down.
    start_retries: int = 60

    def __post_init__(self) -> None:
        self.out = Path(self.out).resolve()
        self.log_dir = Path(self.log_dir or self.out / "log").resolve()
        if self.web_server not in WEB_SERVERS:
            raise ValueError(f"WEB_SERVER={self.web_server!r}: one of {WEB_SERVERS}")
        if self.hot_server not in HOT_SERVERS:
            raise ValueError(f"HOT_SERVER={self.hot_server!r}: one of {HOT_SERVERS}")

    @property
    def socket(self) -> Path:
        return self.out / "supervisor.sock"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    def programs(self) -> dict[str, list[str]]:
        """Program name -> command, in start order (the edge last: it proxies to the others)."""
        py = sys.executable
        web_app = "wsgi" if self.web_server in ("gunicorn", "granian-wsgi") else "asgi"
        programs = {
            "web": server_command(self.web_server, web_app, self.web_port, self.web_workers, self.web_threads),
            "hot": server_command(self.hot_server, "asgi", self.hot_port, self.hot_workers, 1),
            "worker": [py, "-m", "celery", "-A", "config", "worker", "-Q", "celery", "-c", "2",
                       "-n", "worker@%h", "--loglevel", "INFO"],
            "relay": [py, "-m", "celery", "-A", "config", "worker", "-Q", "outbox", "-c", "1",
                      "-n", "relay@%h", "--loglevel", "INFO"],
            "beat": [py, "-m", "celery", "-A", "config", "beat", "--schedule", str(self.out / "celerybeat-schedule"),
                     "--loglevel", "INFO"],
            "flashsale-worker": [py, str(ROOT / "manage.py"), "flashsale_worker"],
            "flashsale-live": [py, str(ROOT / "manage.py"), "flashsale_live"],  # the admin's live sale view
        }  # fmt: skip
        for group in self.consumers:
            programs[f"consumer-{group}"] = [py, str(ROOT / "manage.py"), "consume_events", "--group", group]
        programs["edge"] = ["nginx", "-p", str(self.out / "nginx"), "-c", str(self.out / "nginx.conf"),
                            "-e", str(self.log_dir / "edge-error.log"), "-g", "daemon off;"]  # fmt: skip
        if self.only is not None:
            unknown = set(self.only) - set(programs)
            if unknown:
                raise ValueError(f"unknown programs {sorted(unknown)}: {sorted(programs)}")
            programs = {name: cmd for name, cmd in programs.items() if name in self.only}
        return programs

    def nginx_conf(self) -> str:
        nginx = self.out / "nginx"
        return f"""# Rendered by config/topology.py: do not edit, re-run scripts/run (or the test fixture).
worker_processes {self.edge_workers};
pid {self.out / "nginx.pid"};
error_log {self.log_dir / "edge-error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {nginx / "client_body"};
    proxy_temp_path {nginx / "proxy"};
    fastcgi_temp_path {nginx / "fastcgi"};
    uwsgi_temp_path {nginx / "uwsgi"};
    scgi_temp_path {nginx / "scgi"};
    server_tokens off;
    keepalive_timeout 65s;
    # Keep the caller's X-Request-ID, else make one (the app logs it with every line).
    map $http_x_request_id $edge_request_id {{
        ""      $request_id;
        default $http_x_request_id;
    }}
    upstream nexuscart_web {{
        server 127.0.0.1:{self.web_port} max_fails=0;
        keepalive 64;
        keepalive_timeout {UPSTREAM_IDLE_S}s;
    }}
    upstream nexuscart_hot {{
        server 127.0.0.1:{self.hot_port} max_fails=0;
        keepalive 64;
        keepalive_timeout {UPSTREAM_IDLE_S}s;
    }}
    server {{
        listen 127.0.0.1:{self.edge_port} backlog=4096;
        server_name _;
        set $web http://nexuscart_web;
        set $hotpath http://nexuscart_hot;
        include {ROUTES_CONF};
    }}
}}
"""

    def supervisord_conf(self) -> str:
        lines = [
            "; Rendered by config/topology.py: do not edit, re-run scripts/run (or the test fixture).",
            "[supervisord]",
            "nodaemon=true",
            f"logfile={self.log_dir / 'supervisord.log'}",
            "logfile_maxbytes=10MB",
            f"pidfile={self.out / 'supervisord.pid'}",
            f"childlogdir={self.log_dir}",
            f"directory={ROOT}",
            "minfds=16384",
            "",
            "[unix_http_server]",
            f"file={self.socket}",
            "chmod=0700",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{self.socket}",
        ]
        # Kills the process group a dead program left behind (orphaned workers): config/reaper.py.
        lines += [
            "",
            "[eventlistener:reaper]",
            f"command={shlex.join([sys.executable, '-m', 'config.reaper'])}",
            f"directory={ROOT}",
            "events=PROCESS_STATE_EXITED",
            "priority=1",
            "autorestart=true",
            f"stderr_logfile={self.log_dir / 'reaper.log'}",
        ]
        for name, command in self.programs().items():
            lines += [
                "",
                f"[program:{name}]",
                # supervisord expands %(...)s in the command: a literal % (celery's -n x@%h) is %%.
                "command=" + shlex.join(command).replace("%", "%%"),
                f"directory={ROOT}",
                # Each program's traces under its own name in Jaeger (nexuscart/observability/tracing.py).
                f'environment=OTEL_SERVICE_NAME="nexuscart-{name}"',
                # One priority for all app processes: supervisord starts and stops a priority group
                # together (a distinct priority each would stop them one by one). The edge starts
                # after them and stops first, so no new request reaches a stopping server.
                f"priority={200 if name == 'edge' else 100}",
                "autostart=true",
                "autorestart=true",
                # Running 3 s counts as started; a process that dies sooner is retried after 1 s,
                # 2 s, 3 s, ... (supervisord's back-off) up to start_retries times.
                "startsecs=3",
                f"startretries={self.start_retries}",
                "stopsignal=TERM",
                "stopwaitsecs=20",
                # Servers with worker processes and celery pools: stop and kill the whole group.
                "stopasgroup=true",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={self.log_dir / (name + '.log')}",
                "stdout_logfile_maxbytes=50MB",
                "stdout_logfile_backups=2",
            ]
        return "\n".join(lines) + "\n"

    def render(self) -> Path:
        """Write nginx.conf and supervisord.conf under `out`; the path of supervisord.conf."""
        for path in (self.out, self.log_dir, self.out / "nginx"):
            path.mkdir(parents=True, exist_ok=True)
        (self.out / "nginx.conf").write_text(self.nginx_conf())
        conf = self.out / "supervisord.conf"
        conf.write_text(self.supervisord_conf())
        return conf


def serve(argv: list[str]) -> None:
    """`serve web|hot`: exec the server of that role with the flags scripts/run uses (containers)."""
    parser = argparse.ArgumentParser(prog="python -m config.topology serve")
    parser.add_argument("role", choices=("web", "hot"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))
    args = parser.parse_args(argv)
    if args.role == "web":
        kind = os.environ.get("WEB_SERVER", DEFAULT_WEB_SERVER)
        app = "wsgi" if kind in ("gunicorn", "granian-wsgi") else "asgi"
    else:
        kind, app = os.environ.get("HOT_SERVER", DEFAULT_HOT_SERVER), "asgi"
    command = server_command(kind, app, args.port, args.workers, args.threads, host=args.host)
    os.execv(command[0], command)  # noqa: S606 (our own fixed command line, no shell)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serve(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--log-dir", type=Path)
    parser.add_argument("--edge-port", type=int, required=True)
    parser.add_argument("--web-port", type=int, help="default: edge port + 100")
    parser.add_argument("--hot-port", type=int, help="default: edge port + 101")
    parser.add_argument("--consumers", default="", help="comma-separated consume_events groups")
    parser.add_argument("--only", default="", help="comma-separated program names (default: all)")
    args = parser.parse_args(argv)
    topology = Topology(
        out=args.out,
        log_dir=args.log_dir,
        edge_port=args.edge_port,
        web_port=args.web_port or args.edge_port + 100,
        hot_port=args.hot_port or args.edge_port + 101,
        consumers=[g for g in args.consumers.split(",") if g],
        only=[p for p in args.only.split(",") if p] or None,
    )
    print(topology.render())


if __name__ == "__main__":
    main()
