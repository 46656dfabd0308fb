import uuid

import pytest
from django.db import transaction

from nexuscart import kafka
from nexuscart.consumers import EventConsumer, apply_event
from nexuscart.events import Envelope
from nexuscart.models import DeadLetter, InboxEvent
from nexuscart.outbox import publish
from nexuscart.relay import relay_until_empty
from nexuscart.tests.support import GROUP, PingHappened, effects_for, ensure_effects_table
from tests.pytest_plugin import read_topic

pytestmark = [pytest.mark.django_db(transaction=True)]


def _envelope(aggregate: str, sequence: int, note: str = "") -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        type=PingHappened.event_type,
        version=1,
        aggregate_type="ping",
        aggregate_id=aggregate,
        sequence=sequence,
        occurred_at="2026-11-25T00:00:00+00:00",
        payload={"ping_id": aggregate, "note": note},
    )


def test_the_same_event_applied_twice_has_one_effect(unique):
    ensure_effects_table()
    envelope = _envelope(unique("p"), 1)
    assert apply_event(GROUP, envelope) is True
    assert apply_event(GROUP, envelope) is False
    assert effects_for(envelope.id) == 1


def test_a_failing_handler_leaves_no_inbox_row_so_the_event_can_be_retried(unique):
    ensure_effects_table()
    envelope = _envelope(unique("p"), 1, note="poison")
    with pytest.raises(RuntimeError):
        apply_event(GROUP, envelope)
    assert not InboxEvent.objects.filter(event_id=envelope.id).exists()


def test_gaps_and_reordering_are_detected_per_aggregate(unique, caplog):
    ensure_effects_table()
    aggregate = unique("p")
    apply_event(GROUP, _envelope(aggregate, 1))
    apply_event(GROUP, _envelope(aggregate, 3))
    apply_event(GROUP, _envelope(aggregate, 2))
    flagged = [(r.gap, r.stale) for r in caplog.records if r.getMessage() == "event out of sequence"]
    assert flagged == [(True, False), (False, True)]


def test_poison_and_failing_events_go_to_the_dead_letter_topic_and_the_group_moves_on(unique):
    ensure_effects_table()
    topic = kafka.topic_for_context(PingHappened.context())
    kafka.ensure_topics([topic, kafka.dead_letter_topic()])
    producer = kafka.producer()
    garbage = f"not json {uuid.uuid4()}".encode()
    producer.produce(topic, key=b"garbage", value=garbage)
    producer.flush(10)
    with transaction.atomic():
        failing = publish(PingHappened(ping_id=unique("p"), note="poison"))
        healthy = publish(PingHappened(ping_id=unique("p"), note="fine"))
    relay_until_empty()

    consumer = EventConsumer(GROUP, consumer_overrides={"group.id": unique("group")})
    consumer.run(idle_timeout=5)

    assert effects_for(str(healthy.event_id)) == 1
    assert effects_for(str(failing.event_id)) == 0
    letters = DeadLetter.objects.filter(group=GROUP)
    assert letters.filter(event_id=str(failing.event_id)).exists()
    assert letters.filter(raw=garbage.decode()).exists()
    failing_id = str(failing.event_id).encode()

    def both_dead_lettered(messages) -> bool:
        values = [m.value() for m in messages]
        return garbage in values and any(failing_id in v for v in values)

    assert both_dead_lettered(read_topic(kafka.dead_letter_topic(), until=both_dead_lettered))
