"""publish(): record an event in the caller's transaction; the relay ships it after commit."""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.utils import timezone

from nexuscart.events import DomainEvent
from nexuscart.kafka import topic_for_context
from nexuscart.models import OutboxEvent
from nexuscart.observability import trace_context

logger = logging.getLogger(__name__)

_NEXT_SEQUENCE_SQL = """
INSERT INTO nexuscart_aggregatesequence (aggregate_type, aggregate_id, last_sequence)
VALUES (%s, %s, 1)
ON CONFLICT (aggregate_type, aggregate_id)
DO UPDATE SET last_sequence = nexuscart_aggregatesequence.last_sequence + 1
RETURNING last_sequence
"""


class OutsideTransaction(RuntimeError):
    """publish() was called with no transaction open: the event could outlive a rolled-back change."""


def publish(event: DomainEvent) -> OutboxEvent:
    """Write `event` to the outbox inside the current transaction and nudge the relay on commit.

    The sequence row is locked until commit, so events of one aggregate get increasing
    sequence numbers in commit order.
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction(f"publish({event.event_type}) needs transaction.atomic()")
    aggregate_id = str(event.aggregate_id())
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SEQUENCE_SQL, [event.aggregate_type, aggregate_id])
        (sequence,) = cursor.fetchone()
    row = OutboxEvent.objects.create(
        event_type=event.event_type,
        version=event.version,
        topic=topic_for_context(event.context()),
        aggregate_type=event.aggregate_type,
        aggregate_id=aggregate_id,
        sequence=sequence,
        payload=event.payload(),
        trace=trace_context(),
        occurred_at=timezone.now(),
    )
    _nudge_relay_on_commit()
    return row


def _nudge_relay() -> None:
    from nexuscart.tasks import relay_outbox

    try:
        relay_outbox.delay()
    except Exception:  # the beat sweep picks the rows up anyway; never fail a committed write
        logger.warning("could not nudge the outbox relay", exc_info=True)


def _nudge_relay_on_commit() -> None:
    # One nudge per transaction is enough: the relay drains everything pending. Django drops
    # the callback list on rollback, so checking it is enough to avoid duplicates.
    if not any(func is _nudge_relay for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_nudge_relay)
