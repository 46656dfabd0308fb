import io
import socket
import uuid

import pytest
from django.core.management.base import CommandError
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


def _drain(group_id: str) -> None:
    """Move `group_id` past everything already on the topic, so a test sees only its own events."""
    kafka.ensure_topics([kafka.topic_for_context(PingHappened.context())])
    EventConsumer(GROUP, consumer_overrides={"group.id": group_id}).run(idle_timeout=3)


def test_a_transient_error_is_retried_with_backoff_and_never_dead_lettered(unique, settings):
    ensure_effects_table()
    settings.CONSUMER_MAX_ATTEMPTS = 2
    group_id = unique("group")
    _drain(group_id)
    ping = unique("p")
    with transaction.atomic():
        flaky = publish(PingHappened(ping_id=ping, note="flaky:4"))  # the database is down for 4 tries
        after = publish(PingHappened(ping_id=ping, note="after"))
    relay_until_empty()

    consumer = EventConsumer(GROUP, consumer_overrides={"group.id": group_id})
    consumer.run(idle_timeout=8)

    assert consumer.transient_retries == 4  # more than CONSUMER_MAX_ATTEMPTS: transient ones are not counted
    assert effects_for(str(flaky.event_id)) == 1
    assert effects_for(str(after.event_id)) == 1
    assert not DeadLetter.objects.filter(event_id__in=[str(flaky.event_id), str(after.event_id)]).exists()
    sequences = InboxEvent.objects.filter(aggregate_id=ping).order_by("id").values_list("sequence", flat=True)
    assert list(sequences) == [1, 2]  # the later event waited for the one being retried


def test_no_offset_is_committed_past_a_dead_letter_that_could_not_be_recorded(unique, settings, monkeypatch):
    from confluent_kafka import Producer

    ensure_effects_table()
    group_id = unique("group")
    _drain(group_id)
    with transaction.atomic():
        poison = publish(PingHappened(ping_id=unique("p"), note="poison"))
    relay_until_empty()

    with socket.socket() as closed:  # the dead-letter topic's broker is unreachable
        closed.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{closed.getsockname()[1]}"
    unreachable = Producer({"bootstrap.servers": dead, "message.timeout.ms": 300})
    monkeypatch.setattr(kafka, "producer", lambda: unreachable)
    first = EventConsumer(GROUP, consumer_overrides={"group.id": group_id})
    first.run(idle_timeout=10, should_stop=lambda: first.dead_letter_failures >= 2)
    assert first.dead_letter_failures >= 2
    assert not DeadLetter.objects.filter(event_id=str(poison.event_id)).exists()  # nothing recorded...

    monkeypatch.undo()
    second = EventConsumer(GROUP, consumer_overrides={"group.id": group_id})
    second.run(idle_timeout=5)
    # ...so the offset was not committed: the group reads it again and records it now, once.
    assert DeadLetter.objects.filter(event_id=str(poison.event_id)).count() == 1
    assert second.dead_lettered == 1


def test_redrive_applies_fixed_dead_letters_once_and_marks_them(unique):
    from django.core.management import call_command

    from nexuscart.tests import support

    ensure_effects_table()
    group_id = unique("group")
    _drain(group_id)
    with transaction.atomic():
        poison = publish(PingHappened(ping_id=unique("p"), note="poison"))
    relay_until_empty()
    EventConsumer(GROUP, consumer_overrides={"group.id": group_id}).run(idle_timeout=5)
    letter = DeadLetter.objects.get(event_id=str(poison.event_id))

    with pytest.raises(CommandError):  # still refused: it stays a dead letter
        call_command("redrive_dead_letters", "--id", str(letter.id), stdout=io.StringIO())
    assert DeadLetter.objects.get(pk=letter.pk).redriven_at is None

    support.POISON["refused"] = False  # the bug is fixed
    try:
        out = io.StringIO()
        call_command("redrive_dead_letters", "--id", str(letter.id), stdout=out)
        assert "redriven 1" in out.getvalue()
        call_command("redrive_dead_letters", "--id", str(letter.id), stdout=io.StringIO())  # nothing left to do
    finally:
        support.POISON["refused"] = True
    assert effects_for(str(poison.event_id)) == 1
    assert DeadLetter.objects.get(pk=letter.pk).redriven_at is not None
