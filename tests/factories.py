"""Test data every context's tests share: one UserFactory, and outbox rows as the envelopes consumers get.

It lives outside apps/ so any context's tests may import it without reaching into the user
context's internals (the import-linter contracts cover apps/, not tests/), and it builds users
through get_user_model() for the same reason. Context-specific factories stay with their context
and import this one (apps/user/tests/factories.py re-exports it).
"""

from __future__ import annotations

import uuid

import factory
from django.contrib.auth import get_user_model

from nexuscart.events import Envelope

# One password for every factory user, so any test can sign in as one.
PASSWORD = "Correct-Horse-Battery-42"


class UserFactory(factory.django.DjangoModelFactory):
    """An active shopper with a unique email (unique across runs too: order tables outlive flushes)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.LazyFunction(lambda: f"shopper-{uuid.uuid4().hex[:12]}@example.com")
    first_name = "Ada"
    last_name = "Shopper"
    password = factory.django.Password(PASSWORD)
    is_active = True


def envelope_from_row(row) -> Envelope:
    """The envelope the relay would put on Kafka for this outbox row (nexuscart.relay builds the same)."""
    return Envelope(
        id=str(row.event_id),
        type=row.event_type,
        version=row.version,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        sequence=row.sequence,
        occurred_at=row.occurred_at.isoformat(),
        payload=row.payload,
    )


def outbox_envelope(event_type: str, aggregate_id: str) -> Envelope:
    """The envelope of the newest outbox row of this type for this aggregate: feed it to apply_event."""
    from nexuscart.models import OutboxEvent

    return envelope_from_row(OutboxEvent.objects.filter(event_type=event_type, aggregate_id=aggregate_id).latest("id"))
