"""Timeouts, retries and the shared circuit breaker around every provider call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from apps.payment.providers.base import ProviderUnavailable
from nexuscart.circuit import CircuitBreaker, CircuitOpen
from nexuscart.retry import RetryPolicy, call_with_retry

T = TypeVar("T")


def breaker_for(provider: str) -> CircuitBreaker:
    return CircuitBreaker(
        f"payment.{provider}",
        failure_threshold=settings.PAYMENT_BREAKER_FAILURE_THRESHOLD,
        failure_rate=settings.PAYMENT_BREAKER_FAILURE_RATE,
        min_calls=settings.PAYMENT_BREAKER_MIN_CALLS,
        window_seconds=settings.PAYMENT_BREAKER_WINDOW_SECONDS,
        cooldown_seconds=settings.PAYMENT_BREAKER_COOLDOWN_SECONDS,
    )


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.PAYMENT_RETRY_ATTEMPTS,
        base_delay=settings.PAYMENT_RETRY_BASE_DELAY,
        max_delay=settings.PAYMENT_RETRY_MAX_DELAY,
        deadline=settings.PAYMENT_RETRY_DEADLINE,
    )


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
        result = call_with_retry(func, policy=retry_policy(), is_transient=is_transient, name=f"{provider}.{operation}")
    except Exception as exc:
        if is_transient(exc):
            breaker.record_failure()
            raise ProviderUnavailable(provider, f"{provider} did not answer {operation}: {exc}") from exc
        breaker.record_success()
        raise
    breaker.record_success()
    return result
