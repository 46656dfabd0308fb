"""The after-commit relay nudge is debounced (issue 10): at most one Celery send per process per
window, and the one sent does not run before the window ends, so it ships every commit whose own
nudge was skipped. Read from the real broker queue (Redis list `outbox`, kombu's JSON messages)."""

import json

import pytest
from django.db import transaction

from nexuscart import outbox
from nexuscart.outbox import publish
from nexuscart.tests.support import PingHappened

pytestmark = [pytest.mark.django_db(transaction=True)]


def _nudges(redis_client) -> list[dict]:
    return [json.loads(m) for m in redis_client.lrange("outbox", 0, -1)]


def test_commits_inside_the_window_send_one_nudge_that_runs_after_the_window(unique, redis_client, monkeypatch):
    monkeypatch.setattr(outbox, "_NUDGE_WINDOW_SECONDS", 30.0)  # a loaded box never leaves it by accident
    monkeypatch.setattr(outbox, "_nudge_next", 0.0)
    for n in range(3):
        with transaction.atomic():
            publish(PingHappened(ping_id=unique(f"burst{n}"), note="debounced"))
    nudges = _nudges(redis_client)
    assert len(nudges) == 1  # one Celery send per commit before: 3
    assert nudges[0]["headers"]["task"] == "nexuscart.tasks.relay_outbox"
    assert nudges[0]["headers"]["eta"]  # held back to the window's end, after the skipped commits

    monkeypatch.setattr(outbox, "_nudge_next", 0.0)  # the window is over
    with transaction.atomic():
        publish(PingHappened(ping_id=unique("later"), note="next window"))
    assert len(_nudges(redis_client)) == 2


def test_a_failed_send_does_not_silence_the_next_commit(unique, redis_client, monkeypatch, settings):
    monkeypatch.setattr(outbox, "_NUDGE_WINDOW_SECONDS", 30.0)
    monkeypatch.setattr(outbox, "_nudge_next", 0.0)
    from nexuscart.tasks import relay_outbox

    real = relay_outbox.apply_async
    calls = []

    def broken_once(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ConnectionError("broker down")
        return real(*args, **kwargs)

    monkeypatch.setattr(relay_outbox, "apply_async", broken_once)
    for n in range(2):
        with transaction.atomic():
            publish(PingHappened(ping_id=unique(f"after-failure{n}"), note="retry the nudge"))
    assert len(calls) == 2
    assert len(_nudges(redis_client)) == 1
