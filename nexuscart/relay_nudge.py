"""The after-commit nudge that wakes the outbox relay (a Celery task), off the request path.

A commit that wrote outbox rows asks for a nudge (`nudge`); a daemon thread of the process sends
it. At most one nudge per process per window (issue 10): a Celery send per commit was ~12% of a
checkout's Python CPU. The nudge that is sent runs no earlier than the window's end (countdown),
so every commit whose nudge was skipped inside the window committed before that relay run starts
and is shipped by it; events wait at most the window longer. The beat sweep still covers a lost
nudge.

Why a thread: kombu's Redis client waits for the broker (connect, health-check PING, publish),
so with the broker stalled a send on the request path held a committed checkout until the edge
gave up (nginx's 504 after 60 s; tests/faults/test_broker_stall.py). The thread pays those
timeouts instead, publishes with no retries, and while the process's Redis breaker for the
broker (nexuscart.redis.guard) is open it sends nothing; a send that timed out opens it, as every
other Redis client's timeout does. A refused connection does not open it (kombu retries that for
about 6 s here, on this thread, so no request waits).

A nudge asked for but not yet sent when the process exits is lost: the beat's sweep (every 2 s)
ships those rows. The thread survives any error of a send, and one that died anyway (nothing
should kill it) is started again by the next nudge.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from kombu.exceptions import OperationalError
from redis.exceptions import TimeoutError as RedisTimeoutError

from nexuscart import redis as nc_redis

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 0.05
_next_at = 0.0  # monotonic time from which the next commit asks for a nudge again
_lock = threading.Lock()
_wanted: threading.Event | None = None
_thread: threading.Thread | None = None
_sender_pid = 0


def _after_fork() -> None:
    # A child starts with no sending thread, and must not inherit a lock held at the fork.
    global _lock, _sender_pid
    _lock = threading.Lock()
    _sender_pid = 0


os.register_at_fork(after_in_child=_after_fork)


def broker_guard() -> nc_redis.ServerGuard:
    """The process's breaker for the Celery broker's Redis (kombu's own client is not guarded)."""
    url = urlsplit(settings.CELERY_BROKER_URL)
    return nc_redis.guard(url.hostname or "127.0.0.1", url.port or 6379)


def nudge() -> None:
    """Ask for a relay run (call after commit); returns at once."""
    global _next_at
    now = time.monotonic()
    if now < _next_at:
        return
    _next_at = now + WINDOW_SECONDS
    _sender().set()


def _sender() -> threading.Event:
    """This process's request flag, its sending thread started on first use (and again after a
    fork, or if it ever died)."""
    global _wanted, _thread, _sender_pid
    if _sender_pid != os.getpid() or _thread is None or not _thread.is_alive():
        with _lock:
            if _sender_pid != os.getpid() or _thread is None or not _thread.is_alive():
                _wanted = threading.Event()
                _thread = threading.Thread(target=_send_forever, args=(_wanted,), name="relay-nudge", daemon=True)
                _thread.start()
                _sender_pid = os.getpid()
    return _wanted  # type: ignore[return-value]


def _send_forever(wanted: threading.Event) -> None:
    while True:
        wanted.wait()
        wanted.clear()
        try:
            send_once()
        except Exception:  # never let the thread die: the next nudge would find nobody to send it
            logger.exception("relay nudge thread: unexpected error")


def _timed_out(exc: BaseException) -> bool:
    """kombu wraps the Redis error (OperationalError from it): was it a timeout?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RedisTimeoutError | socket.timeout):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def send_once() -> bool:
    """One nudge, now (the thread's step); False when not sent (broker breaker open, or it failed)."""
    global _next_at
    from nexuscart.tasks import relay_outbox

    broker = broker_guard()
    if broker.is_open:  # failed moments ago: the breaker's probe says when it answers again
        return False
    try:
        # No publish retries: a nudge is an optimisation, and each retry waits a timeout.
        relay_outbox.apply_async(countdown=WINDOW_SECONDS, retry=False)
        return True
    except Exception as exc:  # the beat sweep picks the rows up anyway
        _next_at = 0.0  # the next commit asks again
        if isinstance(exc, OperationalError) and _timed_out(exc):  # a stall, not a refusal
            broker.failed()
        logger.warning("could not nudge the outbox relay", exc_info=True)
        return False
