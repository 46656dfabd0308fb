import pytest
from django.db import transaction

from nexuscart.kafka import topic_for_context
from nexuscart.models import AggregateSequence, OutboxEvent
from nexuscart.outbox import OutsideTransaction, publish
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
    assert sent.sent_at is not None


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
