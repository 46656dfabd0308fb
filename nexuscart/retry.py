"""Retries with exponential backoff and full jitter, for transient errors only.

    result = call_with_retry(fetch, policy=RetryPolicy(attempts=3), is_transient=is_transient_http)

Full jitter (a random delay in [0, min(cap, base * 2**n)]) spreads the retries of many clients
that failed at the same moment, so a recovering provider is not hit by synchronized waves.
Only errors that may succeed on a second try are retried (network, 5xx, 429); a 4xx is an
answer, and repeating it only adds load. Callers must make retried writes idempotent
(idempotency keys), because a timed-out request may have been applied.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

logger = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    # Stop retrying once this many seconds have passed since the first try.
    deadline: float = 10.0

    def delay(self, retry_number: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**retry_number)))


def call_with_retry(
    func: Callable[[], T],
    *,
    policy: RetryPolicy,
    is_transient: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
    name: str = "call",
) -> T:
    started = time.monotonic()
    for attempt in range(policy.attempts):
        try:
            return func()
        except Exception as exc:
            last_try = attempt + 1 >= policy.attempts
            if not is_transient(exc) or last_try:
                raise
            delay = policy.delay(attempt)
            if time.monotonic() - started + delay > policy.deadline:
                raise
            logger.info(
                "transient error, retrying",
                extra={"call": name, "attempt": attempt + 1, "delay": round(delay, 3), "error": repr(exc)},
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def is_transient_http(exc: BaseException) -> bool:
    """requests: connection errors and timeouts, and answers with a retryable status."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code in TRANSIENT_STATUS
    return False
