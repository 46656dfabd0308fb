"""The real serving stack (tests/stack.py): nginx edge -> Django's server / the hot path, supervised."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.stack import free_port, start_stack

pytestmark = pytest.mark.slow


def test_the_edge_sends_django_routes_to_web_and_hot_routes_to_the_hot_path(real_stack):
    stack = real_stack()

    health = stack.get("/healthz", headers={"X-Request-ID": "stack-test-1"})
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert health.headers["X-Request-ID"] == "stack-test-1"  # the edge keeps the caller's id
    # No id from the caller: the edge makes one ($request_id, 32 hex digits) and Django echoes it.
    assert len(stack.get("/healthz").headers["X-Request-ID"]) == 32

    # A hot route answers from the hot router (its problem+json), not from Django (which has no such URL).
    hot = stack.get("/api/v1/flash-sales/reservations/1")
    assert hot.status_code == 401
    assert hot.headers["Content-Type"].startswith("application/problem+json")
    assert hot.json()["code"] == "not_authenticated"

    # Django's side is the WSGI app now: the hot router is not in front of it, so the same path
    # sent straight to web (bypassing the edge) is Django's 404.
    direct = stack.session.get(f"http://127.0.0.1:{stack.topology.web_port}/api/v1/flash-sales/reservations/1")
    assert direct.status_code == 404


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"headers": dict(self.headers.items()), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_the_edge_appends_the_peer_it_saw_to_x_forwarded_for(subprocess_env, db):
    """What every app server behind the edge receives: the client's header with the edge's peer appended.

    The app (nexuscart.client_ip, TRUSTED_PROXIES) takes the right-most hop the edge added, so the
    client-written left part never counts. A stand-in upstream shows the headers exactly.
    """
    echo = ThreadingHTTPServer(("127.0.0.1", free_port()), _Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    try:
        with start_stack(subprocess_env(), programs=("edge",), web_port=echo.server_address[1]) as stack:
            seen = stack.get("/anything?x=1", headers={"X-Forwarded-For": "203.0.113.9", "Host": "localhost"}).json()
    finally:
        echo.shutdown()
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert seen["path"] == "/anything?x=1"
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["host"] == "localhost"
    assert len(headers["x-request-id"]) == 32


def test_supervision_restarts_killed_processes_and_the_shop_keeps_answering(real_stack):
    """scripts/run's supervision: SIGKILL the flash-sale worker, a gunicorn worker, the hot server."""
    stack = real_stack(programs=("web", "hot", "edge", "flashsale-worker"))

    worker = stack.kill("flashsale-worker")
    assert stack.wait_restarted("flashsale-worker", worker) != worker

    # A gunicorn worker: its master forks a new one, supervisord sees nothing die.
    master = stack.pid("web")
    children = {int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()}
    os.kill(min(children), signal.SIGKILL)
    assert stack.pid("web") == master

    hot = stack.kill("hot")  # the hot server's main process; supervisord starts a new one
    assert stack.wait_restarted("hot", hot) != hot

    deadline = time.monotonic() + 30
    while True:
        health = stack.get("/healthz").status_code
        hot_status = stack.get("/api/v1/flash-sales/reservations/1").status_code
        if (health, hot_status) == (200, 401):
            break
        assert time.monotonic() < deadline, (health, hot_status, stack.logs())
        time.sleep(0.2)
    log = stack.log("supervisord")
    assert "exited: flashsale-worker (terminated by SIGKILL; not expected)" in log
    assert "exited: hot (terminated by SIGKILL; not expected)" in log
    # The dead hot server's workers were reaped (config/reaper.py), not left serving without a master.
    assert f"(pid {hot}) left processes behind" in stack.log("reaper")
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) == hot]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
