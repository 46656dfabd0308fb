"""Helpers the payment service tests share: a payable order, and signed Stripe webhook deliveries."""

from __future__ import annotations

from apps.order import selectors as order_selectors
from apps.payment import services
from apps.payment.testmode import payment_intent_object, refund_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import UserFactory, awaiting_payment_order


def new_order(total=2500):
    user = UserFactory()
    return user, awaiting_payment_order(user_id=user.id, total=total)


def deliver(event):
    body, headers = signed_stripe_delivery(event)
    return services.webhook_receive(provider="stripe", body=body, headers=headers)


def succeeded(payment, *, amount=None, currency=None, event_id=None):
    return stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment.provider_reference,
            order_id=payment.order_id,
            amount=payment.amount if amount is None else amount,
            currency=currency or payment.currency,
        ),
        event_id=event_id,
    )


def refunded(payment, *, refund_id, amount, status="succeeded"):
    return stripe_event(
        "refund.updated",
        refund_object(
            reference=refund_id,
            payment_reference=payment.provider_reference,
            amount=amount,
            currency=payment.currency,
            status=status,
        ),
    )


def order_status(order_id):
    return order_selectors.order_get(order_id=order_id).status
