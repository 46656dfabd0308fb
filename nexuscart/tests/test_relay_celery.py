"""The relay as it runs in production: a Celery worker on the outbox queue, nudged on commit."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from nexuscart.kafka import topic_for_context
from nexuscart.models import OutboxEvent
from nexuscart.outbox import publish
from nexuscart.relay import relay_until_empty
from nexuscart.tests.support import PingHappened
from tests.pytest_plugin import envelopes, read_topic

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.slow
def test_a_commit_nudges_the_celery_relay_which_ships_the_event(unique, subprocess_env, redis_client):
    celery = str(Path(sys.executable).parent / "celery")
    worker = subprocess.Popen(
        [
            celery,
            "-A",
            "config",
            "worker",
            "-Q",
            "outbox",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with transaction.atomic():
            row = publish(PingHappened(ping_id=unique("nudged"), note="via celery"))
        event_id = str(row.event_id)

        def arrived(messages) -> bool:
            return any(e["id"] == event_id for e in envelopes(messages))

        assert arrived(read_topic(topic_for_context(PingHappened.context()), until=arrived, timeout=60))
        assert OutboxEvent.objects.get(id=row.id).status == OutboxEvent.Status.SENT
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_replay_events_republishes_sent_events_with_their_original_ids(unique):
    ping = unique("replayed")
    with transaction.atomic():
        row = publish(PingHappened(ping_id=ping, note="once"))
    relay_until_empty()
    call_command("replay_events", "--aggregate", f"ping:{ping}")
    event_id = str(row.event_id)

    def copies(messages) -> int:
        return sum(e["id"] == event_id for e in envelopes(messages))

    assert copies(read_topic(topic_for_context(PingHappened.context()), until=lambda ms: copies(ms) >= 2)) == 2


def test_replay_events_needs_a_filter_and_a_zoned_time():
    with pytest.raises(CommandError, match="at least one"):
        call_command("replay_events")
    with pytest.raises(CommandError, match="zone"):
        call_command("replay_events", "--since", "2026-11-25T00:00:00")
    with pytest.raises(CommandError, match="<type>:<id>"):
        call_command("replay_events", "--aggregate", "nocolon")


def test_consume_events_lists_groups_and_refuses_unknown_ones(manage_py):
    listed = subprocess.run([*manage_py, "consume_events", "--list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    with pytest.raises(CommandError, match="no handlers"):
        call_command("consume_events", "--group", "no-such-group")
