"""The relay is killed between producing and marking sent; two relays race over thousands of rows."""

import subprocess
from collections import defaultdict

import pytest
from django.db import transaction

from nexuscart.consumers import EventConsumer
from nexuscart.kafka import topic_for_context
from nexuscart.models import InboxEvent, OutboxEvent
from nexuscart.outbox import publish
from nexuscart.relay import relay_until_empty
from nexuscart.tests.support import GROUP, PingHappened, effects_for, ensure_effects_table
from tests.pytest_plugin import envelopes, read_topic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _topic() -> str:
    return topic_for_context(PingHappened.context())


def test_relay_killed_after_produce_redelivers_and_the_inbox_applies_once(unique, subprocess_env, manage_py):
    ensure_effects_table()
    with transaction.atomic():
        row = publish(PingHappened(ping_id=unique("ping"), note="survives a crash"))

    crashed = subprocess.run(
        [*manage_py, "relay_outbox"],
        env=subprocess_env(NEXUSCART_FAULTS="relay.after_produce"),
        capture_output=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr.decode()[-2000:]
    row.refresh_from_db()
    assert row.status == OutboxEvent.Status.PENDING  # produced, but never marked

    assert relay_until_empty() == 1  # the restarted relay sends it again
    event_id = str(row.event_id)

    def copies(messages) -> int:
        return sum(e["id"] == event_id for e in envelopes(messages))

    assert copies(read_topic(_topic(), until=lambda ms: copies(ms) >= 2)) == 2

    consumer = EventConsumer(GROUP, consumer_overrides={"group.id": unique("group")})
    consumer.run(idle_timeout=5)
    assert effects_for(event_id) == 1
    assert consumer.duplicates >= 1
    assert InboxEvent.objects.filter(event_id=event_id).count() == 1


def test_two_relays_at_once_deliver_every_event_in_aggregate_order(unique, subprocess_env, manage_py):
    # Many aggregates, so the relays really split the work; several events each, so order matters.
    aggregates, per_aggregate = 1000, 3
    pings = [unique("race") for _ in range(aggregates)]
    with transaction.atomic():
        for round_ in range(per_aggregate):
            for ping in pings:
                publish(PingHappened(ping_id=ping, note=str(round_)))
    expected = set(OutboxEvent.objects.values_list("event_id", flat=True))
    assert len(expected) == aggregates * per_aggregate

    env = subprocess_env()
    relays = [
        subprocess.Popen(
            [*manage_py, "relay_outbox", "--batch-size", "100"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [relay.communicate(timeout=240) for relay in relays]
    for relay, (_out, err) in zip(relays, outputs, strict=True):
        assert relay.returncode == 0, err.decode()[-2000:]
    sent_by_each = [int(out.split()[1]) for out, _ in outputs]
    assert sum(sent_by_each) == len(expected)
    assert min(sent_by_each) > 0, f"one relay did all the work: {sent_by_each}"
    assert not OutboxEvent.objects.exclude(status=OutboxEvent.Status.SENT).exists()

    wanted = {str(e) for e in expected}
    messages = read_topic(_topic(), until=lambda ms: wanted <= {e["id"] for e in envelopes(ms)}, timeout=90)
    seen_by_aggregate: dict[str, list[int]] = defaultdict(list)
    seen_ids = set()
    for envelope in envelopes(messages):
        if envelope["id"] in wanted and envelope["id"] not in seen_ids:
            seen_ids.add(envelope["id"])
            seen_by_aggregate[envelope["aggregate_id"]].append(envelope["sequence"])
    assert seen_ids == wanted, f"{len(wanted - seen_ids)} events lost"
    for ping in pings:
        assert seen_by_aggregate[ping] == list(range(1, per_aggregate + 1)), f"{ping} out of order"
