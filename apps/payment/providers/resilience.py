"""Timeouts, retries (tenacity) and the shared circuit breaker around every provider call.

Retries use exponential backoff with full jitter (a random delay in [0, min(cap, base * 2**n)]),
so the retries of many clients that failed at the same moment do not hit a recovering provider
in synchronized waves, and only for errors that may succeed on a second try (network, 5xx, 429):
a 4xx is an answer. Retried writes carry idempotency keys, because a timed-out call may have
been applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import requests
from django.conf import settings
from tenacity import Retrying, before_sleep_log, retry_if_exception, stop_after_attempt, stop_before_delay
from tenacity import wait_random_exponential as full_jitter

from apps.payment.providers.base import ProviderUnavailable
from nexuscart.circuit import CircuitBreaker, CircuitOpen

logger = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


def breaker_for(provider: str) -> CircuitBreaker:
    return CircuitBreaker(
        f"payment.{provider}",
        failure_threshold=settings.PAYMENT_BREAKER_FAILURE_THRESHOLD,
        failure_rate=settings.PAYMENT_BREAKER_FAILURE_RATE,
        min_calls=settings.PAYMENT_BREAKER_MIN_CALLS,
        window_seconds=settings.PAYMENT_BREAKER_WINDOW_SECONDS,
        cooldown_seconds=settings.PAYMENT_BREAKER_COOLDOWN_SECONDS,
    )


def retrying(
    *,
    is_transient: Callable[[BaseException], bool],
    attempts: int | None = None,
    base_delay: float | None = None,
    max_delay: float | None = None,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """A tenacity Retrying for provider calls (PAYMENT_RETRY_* unless given): `retrying(...)(func)`.

    Gives up after `attempts` tries, or before a wait that would end past `deadline` seconds
    from the first try; the last error is re-raised as it was.
    """
    return Retrying(
        stop=stop_after_attempt(attempts or settings.PAYMENT_RETRY_ATTEMPTS)
        | stop_before_delay(deadline or settings.PAYMENT_RETRY_DEADLINE),
        wait=full_jitter(
            multiplier=base_delay or settings.PAYMENT_RETRY_BASE_DELAY,
            max=max_delay or settings.PAYMENT_RETRY_MAX_DELAY,
        ),
        retry=retry_if_exception(is_transient),
        reraise=True,
        sleep=sleep,
        before_sleep=before_sleep_log(logger, logging.INFO),
    )


def is_transient_http(exc: BaseException) -> bool:
    """requests: connection errors and timeouts, and answers with a retryable status."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code in TRANSIENT_STATUS
    return False


def timeouts() -> tuple[float, float]:
    return (settings.PAYMENT_PROVIDER_CONNECT_TIMEOUT, settings.PAYMENT_PROVIDER_READ_TIMEOUT)


def guarded_call(
    provider: str,
    breaker: CircuitBreaker,
    func: Callable[[], T],
    *,
    is_transient: Callable[[BaseException], bool],
    operation: str,
) -> T:
    """One logical provider call: fail fast when the breaker is open, else retry transient errors.

    The breaker sees one outcome per logical call (after the retries), and a 4xx counts as a
    success for it: the provider is up, it just said no.
    """
    try:
        breaker.allow()
    except CircuitOpen as exc:
        raise ProviderUnavailable(
            provider, f"{provider} is unavailable (circuit open); retry later.", retry_after=exc.retry_after
        ) from exc
    try:
        result = retrying(is_transient=is_transient)(func)
    except Exception as exc:
        if is_transient(exc):
            breaker.record_failure()
            raise ProviderUnavailable(provider, f"{provider} did not answer {operation}: {exc}") from exc
        breaker.record_success()
        raise
    breaker.record_success()
    return result
