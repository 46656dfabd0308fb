"""The shared-kernel breaker (state in the real Redis) and the retry policy."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib
import requests

from apps.payment.providers.resilience import is_transient_http, retrying
from nexuscart.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen


def make(settings, name="t", **options) -> CircuitBreaker:
    # A connection of its own per breaker, like another process would have.
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    return CircuitBreaker(name, redis=client, **options)


def test_opens_after_consecutive_failures_and_fails_fast(settings):
    breaker = make(settings, failure_threshold=3, cooldown_seconds=30)
    for _ in range(2):
        breaker.allow()
        assert breaker.record_failure() == CLOSED
    breaker.allow()
    assert breaker.record_failure() == OPEN
    with pytest.raises(CircuitOpen) as raised:
        breaker.allow()
    assert 25 < raised.value.retry_after <= 30


def test_a_success_resets_the_consecutive_count(settings):
    breaker = make(settings, failure_threshold=3)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.status().state == CLOSED


def test_failure_rate_over_the_window_trips(settings):
    breaker = make(settings, failure_threshold=100, failure_rate=0.5, min_calls=10)
    for _ in range(5):
        breaker.record_success()
        breaker.record_failure()
    assert breaker.status().state == OPEN


def test_state_is_shared_between_processes_connections(settings):
    first, second = make(settings, "shared", failure_threshold=2), make(settings, "shared", failure_threshold=2)
    first.record_failure()
    second.record_failure()
    with pytest.raises(CircuitOpen):
        first.allow()
    with pytest.raises(CircuitOpen):
        second.allow()


def test_half_open_lets_exactly_one_probe_through_then_closes_on_success(settings):
    breaker = make(settings, failure_threshold=1, cooldown_seconds=0.3)
    breaker.record_failure()
    time.sleep(0.35)
    allowed, barrier = [], threading.Barrier(20)

    def attempt():
        other = make(settings, failure_threshold=1, cooldown_seconds=0.3)
        barrier.wait()
        try:
            other.allow()
            allowed.append(1)
        except CircuitOpen:
            pass

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 1
    assert breaker.status().state == HALF_OPEN
    assert breaker.record_success() == CLOSED
    breaker.allow()


def test_a_failed_probe_opens_again(settings):
    breaker = make(settings, failure_threshold=1, cooldown_seconds=0.2)
    breaker.record_failure()
    time.sleep(0.25)
    breaker.allow()
    assert breaker.record_failure() == OPEN
    with pytest.raises(CircuitOpen):
        breaker.allow()
    assert breaker.status().trips == 2


def test_retry_retries_transient_errors_with_bounded_jittered_delays():
    calls, delays = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise requests.ConnectionError("reset")
        return "ok"

    policy = retrying(attempts=4, base_delay=0.1, max_delay=0.15, is_transient=is_transient_http, sleep=delays.append)
    assert policy(flaky) == "ok"
    assert len(calls) == 3
    assert 0 <= delays[0] <= 0.1
    assert 0 <= delays[1] <= 0.15


def test_retry_gives_up_at_once_on_a_4xx():
    calls = []
    response = requests.Response()
    response.status_code = 400

    def refused():
        calls.append(1)
        raise requests.HTTPError(response=response)

    with pytest.raises(requests.HTTPError):
        retrying(attempts=5, is_transient=is_transient_http, sleep=lambda s: None)(refused)
    assert len(calls) == 1


def test_retry_treats_429_and_503_as_transient():
    for status in (429, 503):
        response = requests.Response()
        response.status_code = status
        assert is_transient_http(requests.HTTPError(response=response))


def test_full_jitter_spreads_delays():
    fourth_waits = []

    def failing():
        raise requests.ConnectionError("reset")

    for _ in range(50):
        waits = []
        policy = retrying(
            attempts=5, base_delay=1.0, max_delay=8.0, deadline=1e9, is_transient=is_transient_http, sleep=waits.append
        )
        with pytest.raises(requests.ConnectionError):
            policy(failing)
        fourth_waits.append(waits[3])  # the wait before the 5th try: uniform in [0, min(8, 1 * 2**3)]
    delays = {round(d, 3) for d in fourth_waits}
    assert len(delays) > 40
    assert max(delays) <= 8.0
