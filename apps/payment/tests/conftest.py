"""Fixtures of the payment tests: the PayPal double, a private stripe-mock, a counting proxy."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from apps.payment.tests.paypal_double import PayPalDouble

STRIPE_MOCK = Path(__file__).resolve().parents[3] / ".local" / "tools" / "bin" / "stripe-mock"


@pytest.fixture(autouse=True)
def _fast_resilience(settings, redis_client):
    """Short retries and cool-downs, and breaker state (in this worker's Redis db) emptied per test."""
    settings.PAYMENT_RETRY_BASE_DELAY = 0.01
    settings.PAYMENT_RETRY_MAX_DELAY = 0.05
    settings.PAYMENT_BREAKER_FAILURE_THRESHOLD = 3
    settings.PAYMENT_BREAKER_COOLDOWN_SECONDS = 1.0
    settings.PAYMENT_PROVIDER_CONNECT_TIMEOUT = 0.5
    settings.PAYMENT_PROVIDER_READ_TIMEOUT = 5.0
    return redis_client


@pytest.fixture
def paypal(settings) -> Iterator[PayPalDouble]:
    double = PayPalDouble().start()
    settings.PAYPAL_API_BASE = double.url
    settings.PAYPAL_CLIENT_ID = double.client_id
    settings.PAYPAL_CLIENT_SECRET = double.client_secret
    settings.PAYPAL_WEBHOOK_ID = double.webhook_id
    yield double
    double.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StripeMockProcess:
    """Our own stripe-mock, so stopping it hurts nobody else's tests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PORT"}
        self.process = subprocess.Popen(
            # It also opens HTTPS on :12112 by default, which the shared stripe-mock holds.
            [str(STRIPE_MOCK), "-http-addr", f"127.0.0.1:{self.port}", "-https-addr", f"127.0.0.1:{free_port()}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/v1/charges", headers={"Authorization": "Bearer sk_test_123"}, timeout=0.5)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("stripe-mock did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_stripe_mock(settings) -> Iterator[StripeMockProcess]:
    mock = StripeMockProcess()
    mock.start()
    settings.STRIPE_API_BASE = mock.url
    yield mock
    mock.stop()


class CountingProxy:
    """Forwards to stripe-mock and counts what reaches it, per method and path."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy.lock:
                    proxy.calls[f"{self.command} {self.path.split('?')[0]}"] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=10
                )
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Request-Id", "Idempotency-Key"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stripe_counter(settings) -> Iterator[CountingProxy]:
    proxy = CountingProxy(settings.STRIPE_API_BASE)
    settings.STRIPE_API_BASE = proxy.url
    yield proxy
    proxy.close()
