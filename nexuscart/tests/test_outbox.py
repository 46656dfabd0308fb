import json
import random
import threading
import uuid
from collections import defaultdict
from datetime import datetime

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from nexuscart.kafka import topic_for_context
from nexuscart.models import AggregateSequence, OutboxEvent, OutboxPending
from nexuscart.outbox import OutsideTransaction, publish, publish_many
from nexuscart.relay import relay_until_empty
from nexuscart.tests.support import PingHappened
from tests.pytest_plugin import envelopes, read_topic

pytestmark = [pytest.mark.django_db(transaction=True)]

TOPIC_CONTEXT = PingHappened.context()


def _event_ids(messages) -> list[str]:
    return [e["id"] for e in envelopes(messages)]


def test_committed_event_reaches_kafka_and_rolled_back_one_never_does(unique):
    ping = unique("ping")
    try:
        with transaction.atomic():
            doomed = publish(PingHappened(ping_id=ping, note="rolled back"))
            raise RuntimeError("the business change failed")
    except RuntimeError:
        pass
    with transaction.atomic():
        kept = publish(PingHappened(ping_id=ping, note="committed"))

    assert not OutboxEvent.objects.filter(event_id=doomed.event_id).exists()
    assert relay_until_empty() >= 1

    messages = read_topic(topic_for_context(TOPIC_CONTEXT), until=lambda ms: str(kept.event_id) in _event_ids(ms))
    ids = _event_ids(messages)
    assert str(kept.event_id) in ids
    assert str(doomed.event_id) not in ids
    sent = OutboxEvent.objects.get(event_id=kept.event_id)
    assert sent.status == OutboxEvent.Status.SENT
    # Delivered: its queue row is gone and the log row was never rewritten (no per-row update).
    assert not OutboxPending.objects.filter(id=sent.id).exists()


def test_envelope_carries_type_version_aggregate_sequence_and_key(unique):
    ping = unique("ping")
    with transaction.atomic():
        publish(PingHappened(ping_id=ping, note="first"))
        publish(PingHappened(ping_id=ping, note="second"))
    relay_until_empty()

    def mine(messages) -> list[dict]:
        return [e for e in envelopes(messages) if e["aggregate_id"] == ping]

    received = mine(read_topic(topic_for_context(TOPIC_CONTEXT), until=lambda ms: len(mine(ms)) == 2))
    assert [e["sequence"] for e in received] == [1, 2]
    assert [e["payload"]["note"] for e in received] == ["first", "second"]
    assert {e["type"] for e in received} == {"kerneltest.PingHappened"}
    assert {e["version"] for e in received} == {1}
    assert {e["_key"] for e in received} == {f"ping:{ping}".encode()}
    assert len({e["_partition"] for e in received}) == 1


def test_publish_outside_a_transaction_is_refused(unique):
    with pytest.raises(OutsideTransaction):
        publish(PingHappened(ping_id=unique("ping")))
    assert OutboxEvent.objects.count() == 0


def test_sequence_numbers_count_per_aggregate_across_transactions(unique):
    first, second = unique("a"), unique("b")
    for _ in range(3):
        with transaction.atomic():
            publish(PingHappened(ping_id=first))
    with transaction.atomic():
        publish(PingHappened(ping_id=second))

    assert list(OutboxEvent.objects.filter(aggregate_id=first).order_by("id").values_list("sequence", flat=True)) == [
        1,
        2,
        3,
    ]
    assert AggregateSequence.objects.get(aggregate_id=second).last_sequence == 1


def test_relay_on_an_empty_outbox_sends_nothing():
    assert relay_until_empty() == 0


def test_publish_many_writes_one_batch_in_order_with_consecutive_sequences(unique):
    a, b = unique("a"), unique("b")
    with transaction.atomic():
        publish(PingHappened(ping_id=a, note="a0"))
        written = publish_many(
            [PingHappened(ping_id=a, note="a1"), PingHappened(ping_id=b, note="b1"), PingHappened(ping_id=a, note="a2")]
        )
    assert [(w.aggregate_id, w.sequence) for w in written] == [(a, 2), (b, 1), (a, 3)]
    rows = OutboxEvent.objects.filter(aggregate_id__in=[a, b]).order_by("id")
    assert [(r.aggregate_id, r.sequence, r.payload["note"]) for r in rows] == [
        (a, 1, "a0"),
        (a, 2, "a1"),
        (b, 1, "b1"),
        (a, 3, "a2"),
    ]
    assert [r.id for r in rows][1:] == [w.id for w in written]
    assert {str(r.event_id) for r in rows[1:]} == {str(w.event_id) for w in written}
    assert AggregateSequence.objects.get(aggregate_id=a).last_sequence == 3


def test_publish_many_keeps_per_aggregate_sequence_under_concurrent_writers(unique):
    aggregates = [unique("agg") for _ in range(12)]
    writers, batches, per_batch = 6, 25, 40
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def writer(w: int) -> None:
        rng = random.Random(w)
        try:
            start.wait()
            for n in range(batches):
                # Each batch touches the aggregates in its own shuffled order: the statement must
                # still lock their sequence rows in one order (no deadlock between writers).
                events = [PingHappened(ping_id=rng.choice(aggregates), note=f"{w}:{n}:{i}") for i in range(per_batch)]
                with transaction.atomic():
                    publish_many(events)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    by_aggregate: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for row in (
        OutboxEvent.objects.filter(aggregate_id__in=aggregates)
        .order_by("id")
        .values_list("aggregate_id", "id", "sequence", "payload")
    ):
        by_aggregate[row[0]].append((row[1], row[2], row[3]["note"]))
    assert sum(len(rows) for rows in by_aggregate.values()) == writers * batches * per_batch
    for aggregate, rows in by_aggregate.items():
        sequences = [sequence for _, sequence, _ in rows]
        # in id order (the relay's order) the sequence is exactly 1..n: no gap, no repeat, no reordering
        assert sequences == list(range(1, len(rows) + 1)), aggregate
        assert AggregateSequence.objects.get(aggregate_id=aggregate).last_sequence == len(rows)
        # one writer's events of one batch keep the order they were given in
        seen: dict[tuple[str, str], int] = {}
        for _, _, note in rows:
            w, n, i = note.split(":")
            assert seen.get((w, n), -1) < int(i)
            seen[(w, n)] = int(i)


def test_publish_many_puts_the_log_rows_envelope_on_kafka(unique):
    """The body is rendered at publish time (before PostgreSQL numbers the event): what reaches
    Kafka must still be exactly the log row (id, type, version, aggregate, sequence, time, payload)."""
    ping = unique("wire")
    with transaction.atomic():
        publish(PingHappened(ping_id=ping, note="one"))
        publish_many([PingHappened(ping_id=ping, note='two "quoted"'), PingHappened(ping_id=ping, note="three")])
    relay_until_empty()

    def mine(messages) -> list[dict]:
        return [e for e in envelopes(messages) if e["aggregate_id"] == ping]

    received = mine(read_topic(topic_for_context(TOPIC_CONTEXT), until=lambda ms: len(mine(ms)) == 3))
    rows = OutboxEvent.objects.filter(aggregate_id=ping).order_by("id")
    expected = [
        {
            "id": str(r.event_id),
            "type": r.event_type,
            "version": r.version,
            "aggregate_type": r.aggregate_type,
            "aggregate_id": r.aggregate_id,
            "sequence": r.sequence,
            "occurred_at": r.occurred_at,
            "payload": r.payload,
            "trace": r.trace,
        }
        for r in rows
    ]
    got = [{k: v for k, v in e.items() if not k.startswith("_")} for e in received]
    for envelope in got:
        envelope["occurred_at"] = datetime.fromisoformat(envelope["occurred_at"])
    assert got == expected
    assert [e["sequence"] for e in got] == [1, 2, 3]
    assert {e["_key"] for e in received} == {f"ping:{ping}".encode()}


def test_migration_queues_the_rows_the_old_layout_left_unsent(unique):
    """Rows still pending (or failed, from before 0003) when 0006 runs are queued with their
    envelope and relayed; sent rows are not. Going back restores their status column."""
    before, after = [("nexuscart", "0005_outbox_autovacuum")], [("nexuscart", "0006_outbox_pending_queue")]
    MigrationExecutor(connection).migrate(before)
    ping = unique("legacy")
    try:
        with connection.cursor() as cursor:
            for sequence, status in enumerate(["sent", "pending", "failed"], 1):
                cursor.execute(
                    "INSERT INTO nexuscart_outboxevent (event_id, event_type, version, topic, aggregate_type,"
                    " aggregate_id, sequence, payload, trace, occurred_at, status, attempts, last_error)"
                    " VALUES (%s, 'kerneltest.PingHappened', 1, %s, 'ping', %s, %s, %s, '{}', now(), %s, 0, '')",
                    [uuid.uuid4(), topic_for_context(TOPIC_CONTEXT), ping, sequence, f'{{"note": "{status}"}}', status],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    queued = {row.id: row for row in OutboxPending.objects.all()}
    rows = list(OutboxEvent.objects.filter(aggregate_id=ping).order_by("sequence"))
    assert [r.status for r in rows] == ["sent", "pending", "pending"]
    assert sorted(queued) == [r.id for r in rows[1:]]
    for row in rows[1:]:
        body = json.loads(queued[row.id].body)
        assert (body["id"], body["sequence"], body["payload"]) == (str(row.event_id), row.sequence, row.payload)
        assert datetime.fromisoformat(body["occurred_at"]) == row.occurred_at
        assert queued[row.id].key == f"ping:{ping}"

    executor = MigrationExecutor(connection)  # and back: the status column says the same
    executor.migrate(before)
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM nexuscart_outboxevent WHERE aggregate_id = %s ORDER BY sequence", [ping])
        assert [s for (s,) in cursor.fetchall()] == ["sent", "pending", "pending"]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    assert relay_until_empty() == 2

    def mine(messages) -> list[dict]:
        return [e for e in envelopes(messages) if e["aggregate_id"] == ping]

    received = mine(read_topic(topic_for_context(TOPIC_CONTEXT), until=lambda ms: len(mine(ms)) >= 2))
    assert [(e["sequence"], e["payload"]["note"]) for e in received] == [(2, "pending"), (3, "failed")]
