"""Fixtures of the payment tests: the PayPal double, a private stripe-mock, a counting proxy (stripe_proxy.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from apps.payment.tests.paypal_double import PayPalDouble
from apps.payment.tests.stripe_proxy import StripeProxy

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


@pytest.fixture
def stripe_counter(settings) -> Iterator[StripeProxy]:
    """Counts what reaches stripe-mock, per method and path (`stripe_counter.calls[...]`)."""
    proxy = StripeProxy(settings.STRIPE_API_BASE)
    settings.STRIPE_API_BASE = proxy.url
    yield proxy
    proxy.close()
