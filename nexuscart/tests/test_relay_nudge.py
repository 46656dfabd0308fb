"""The after-commit relay nudge is debounced (issue 10): at most one Celery send per process per
window, and the one sent does not run before the window ends, so it ships every commit whose own
nudge was skipped. Read from the real broker queue (Redis list `outbox`, kombu's JSON messages).
The send happens on the process's nudge thread (nexuscart/relay_nudge.py), so the tests wait for it."""

import json
import time

import pytest
from django.db import transaction

from nexuscart import relay_nudge
from nexuscart.outbox import publish
from nexuscart.tests.support import PingHappened

pytestmark = [pytest.mark.django_db(transaction=True)]


def _nudges(redis_client, *, expect: int) -> list[dict]:
    """The queued nudges, once `expect` have arrived (or 5 s have passed), plus any extra that
    arrives within a short while after (so a test that expects 1 sees a wrong 3)."""
    deadline = time.monotonic() + 5
    while redis_client.llen("outbox") < expect and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    return [json.loads(m) for m in redis_client.lrange("outbox", 0, -1)]


def test_commits_inside_the_window_send_one_nudge_that_runs_after_the_window(unique, redis_client, monkeypatch):
    monkeypatch.setattr(relay_nudge, "WINDOW_SECONDS", 30.0)  # a loaded box never leaves it by accident
    monkeypatch.setattr(relay_nudge, "_next_at", 0.0)
    for n in range(3):
        with transaction.atomic():
            publish(PingHappened(ping_id=unique(f"burst{n}"), note="debounced"))
    nudges = _nudges(redis_client, expect=1)
    assert len(nudges) == 1  # one Celery send per commit before: 3
    assert nudges[0]["headers"]["task"] == "nexuscart.tasks.relay_outbox"
    assert nudges[0]["headers"]["eta"]  # held back to the window's end, after the skipped commits

    monkeypatch.setattr(relay_nudge, "_next_at", 0.0)  # the window is over
    with transaction.atomic():
        publish(PingHappened(ping_id=unique("later"), note="next window"))
    assert len(_nudges(redis_client, expect=2)) == 2


def test_a_failed_send_does_not_silence_the_next_commit(unique, redis_client, monkeypatch, settings):
    monkeypatch.setattr(relay_nudge, "WINDOW_SECONDS", 30.0)
    monkeypatch.setattr(relay_nudge, "_next_at", 0.0)
    from nexuscart.tasks import relay_outbox

    real = relay_outbox.apply_async
    calls = []

    def broken_once(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ConnectionError("broker down")
        return real(*args, **kwargs)

    monkeypatch.setattr(relay_outbox, "apply_async", broken_once)
    with transaction.atomic():
        publish(PingHappened(ping_id=unique("failure"), note="its nudge fails"))
    deadline = time.monotonic() + 5
    while relay_nudge._next_at and time.monotonic() < deadline:  # the failed send reopens the window
        time.sleep(0.02)
    assert len(calls) == 1
    with transaction.atomic():
        publish(PingHappened(ping_id=unique("after-failure"), note="retry the nudge"))
    assert len(_nudges(redis_client, expect=1)) == 1
    assert len(calls) == 2
