"""The relay is killed between producing and deleting the delivered queue rows; two relays race
over thousands of rows."""

import socket
import subprocess
import time
from collections import defaultdict

import psycopg
import pytest
from django.db import transaction

from nexuscart.consumers import EventConsumer
from nexuscart.kafka import topic_for_context
from nexuscart.models import InboxEvent, OutboxEvent, OutboxPending
from nexuscart.outbox import publish, publish_many
from nexuscart.relay import relay_batch, relay_until_empty
from nexuscart.tests.support import GROUP, PingHappened, effects_for, ensure_effects_table
from tests.pytest_plugin import envelopes, read_topic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _conninfo() -> dict:
    from django.db import connection

    db = connection.settings_dict
    return {
        "host": db["HOST"],
        "port": db["PORT"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "dbname": db["NAME"],
    }


def _claims_waiting() -> int:
    """Relay backends blocked on their claim behind the test's table lock."""
    with psycopg.connect(**_conninfo(), autocommit=True) as probe:
        (count,) = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE '%%FOR UPDATE SKIP LOCKED%%'"
        ).fetchone()
    return count


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
    assert OutboxEvent.objects.get(id=row.id).status == OutboxEvent.Status.PENDING  # produced, but never marked

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
    # Both relays must really race: a relay is fast enough to drain 3,000 rows before a second
    # process has even started Django, so the outbox stays locked until both wait on their claim.
    gate = psycopg.connect(**_conninfo(), autocommit=False)
    gate.execute("LOCK TABLE nexuscart_outboxpending IN EXCLUSIVE MODE")  # the relays claim from the queue
    relays = [
        subprocess.Popen(
            [*manage_py, "relay_outbox", "--batch-size", "100"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _claims_waiting() < 2:
            time.sleep(0.1)
    finally:
        gate.rollback()
        gate.close()
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


def test_a_broker_outage_is_never_final_and_later_events_never_overtake(unique, settings, monkeypatch):
    """Kafka unreachable for longer than OUTBOX_MAX_ATTEMPTS batches: rows stay pending (no FAILED),
    then the relay ships them in their aggregate's order once the broker is back."""
    from confluent_kafka import Producer

    from nexuscart import relay as relay_module

    ping = unique("outage")
    with transaction.atomic():
        first = publish(PingHappened(ping_id=ping, note="first"))
        second = publish(PingHappened(ping_id=ping, note="second"))
    settings.OUTBOX_MAX_ATTEMPTS = 2
    with socket.socket() as closed:  # a port nothing listens on: every delivery times out
        closed.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{closed.getsockname()[1]}"
    unreachable = Producer({"bootstrap.servers": dead, "message.timeout.ms": 300, "enable.idempotence": True})
    monkeypatch.setattr(relay_module, "producer", lambda: unreachable)
    for _ in range(settings.OUTBOX_MAX_ATTEMPTS + 2):
        result = relay_module.relay_batch(flush_timeout=3)
        assert (result.claimed, result.sent) == (2, 0)
    rows = {r.id: r for r in OutboxEvent.objects.filter(id__in=[first.id, second.id])}
    assert {r.status for r in rows.values()} == {OutboxEvent.Status.PENDING}
    assert {r.attempts for r in rows.values()} == {settings.OUTBOX_MAX_ATTEMPTS + 2}
    assert all(r.last_error for r in rows.values())

    monkeypatch.undo()  # the broker is back
    assert relay_until_empty() == 2

    def mine(messages) -> list[dict]:
        return [e for e in envelopes(messages) if e["aggregate_id"] == ping]

    received = mine(read_topic(_topic(), until=lambda ms: len(mine(ms)) >= 2))
    assert [(e["sequence"], e["payload"]["note"]) for e in received] == [(1, "first"), (2, "second")]


def test_a_row_another_relay_holds_between_two_of_ours_holds_their_aggregate_back(unique):
    """Two claims scanning at once can interleave: we lock 1, the other relay 2, we skip it and lock 3.
    Sending 1 and 3 would put 3 on Kafka before 2; the aggregate must wait for the other relay."""
    ping = unique("interleave")
    with transaction.atomic():
        rows = publish_many([PingHappened(ping_id=ping, note=str(n)) for n in range(1, 4)])
    other = psycopg.connect(**_conninfo(), autocommit=False)  # the other relay's claim of row 2
    other.execute("SELECT id FROM nexuscart_outboxpending WHERE id = %s FOR UPDATE", [rows[1].id])
    try:
        assert relay_batch().sent == 0
        assert OutboxPending.objects.filter(id__in=[r.id for r in rows]).count() == 3
    finally:
        other.rollback()
        other.close()
    assert relay_until_empty() == 3

    def mine(messages) -> list[dict]:
        return [e for e in envelopes(messages) if e["aggregate_id"] == ping]

    received = mine(read_topic(_topic(), until=lambda ms: len(mine(ms)) >= 3))
    assert [e["sequence"] for e in received] == [1, 2, 3]
