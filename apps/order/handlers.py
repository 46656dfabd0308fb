"""Reactions of the order context to other contexts' events (registered with nexuscart.consumers.event_handler)."""

from django.db import transaction

from apps.order.notifications import MAIL_KINDS
from nexuscart.consumers import event_handler
from nexuscart.events import Envelope


def _queue_order_email(envelope: Envelope) -> None:
    """Each order event once (the inbox) -> one Celery task, queued after this transaction commits."""
    from apps.order.tasks import order_email_send

    transaction.on_commit(lambda: order_email_send.delay(envelope.type, int(envelope.aggregate_id), envelope.payload))


for _event_type in MAIL_KINDS:
    event_handler(_event_type, group="order-mail")(_queue_order_email)
