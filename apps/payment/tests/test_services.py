"""Payments applied through the real order state machine: webhooks, out-of-order, refunds, timeout, polling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.payment import services
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from apps.payment.providers import base
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import UserFactory
from apps.payment.tests.stripe_flows import deliver, new_order, order_status, succeeded
from nexuscart.errors import Conflict, NotFound, ServiceUnavailable
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_create_stripe_payment_for_an_awaiting_order():
    user, order = new_order(total=1999)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert (payment.status, payment.amount, payment.currency, payment.attempt) == ("pending", 1999, "USD", 1)
    assert payment.provider_reference.startswith("pi_")
    assert payment.client_secret
    again = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert again.id == payment.id


def test_someone_elses_order_is_not_found_and_a_paid_order_is_a_conflict():
    user, order = new_order()
    with pytest.raises(NotFound):
        services.payment_create(order_id=order.id, user_id=UserFactory().id, provider="stripe")
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    deliver(succeeded(payment))
    with pytest.raises(Conflict) as raised:
        services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert raised.value.code == "order_not_payable"


def test_success_webhook_marks_the_order_paid_once():
    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    event = succeeded(payment)
    first = deliver(event)
    second = deliver(event)
    assert (first.outcome, first.duplicate, second.duplicate) == ("applied", False, True)
    assert order_status(order.id) == "PAID"
    assert order_selectors.order_get(order_id=order.id).payment_reference == payment.provider_reference
    assert ProviderEvent.objects.filter(provider_event_id=event["id"]).count() == 1
    assert Payment.objects.get(id=payment.id).captured_amount == payment.amount
    assert OutboxEvent.objects.filter(event_type="payment.PaymentSucceeded", aggregate_id=str(payment.id)).count() == 1
    # The same fact under another event id (Stripe retries with the same id, but a poll has its own) changes nothing.
    assert deliver(succeeded(payment)).outcome == "already_applied"
    assert OutboxEvent.objects.filter(event_type="order.OrderPaid", aggregate_id=str(order.id)).count() == 1


def test_failed_payment_is_recorded_and_the_order_still_awaits_payment():
    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    failed = stripe_event(
        "payment_intent.payment_failed",
        payment_intent_object(
            reference=payment.provider_reference,
            order_id=order.id,
            amount=payment.amount,
            currency="USD",
            status="requires_payment_method",
            error="Your card was declined.",
        ),
    )
    assert deliver(failed).outcome == "applied"
    stored = Payment.objects.get(id=payment.id)
    assert (stored.status, stored.failure_message) == ("failed", "Your card was declined.")
    assert order_status(order.id) == "AWAITING_PAYMENT"
    retry = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert (retry.attempt, retry.status) == (2, "pending")


def test_amount_mismatch_is_flagged_and_the_order_is_not_paid():
    user, order = new_order(total=2500)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    result = deliver(succeeded(payment, amount=100))
    assert result.outcome == "flagged"
    assert order_status(order.id) == "AWAITING_PAYMENT"
    flag = PaymentFlag.objects.get(payment_id=payment.id)
    assert flag.kind == "amount_mismatch"
    assert "100 USD" in flag.detail
    assert OutboxEvent.objects.filter(event_type="payment.PaymentFlagged", aggregate_id=str(payment.id)).exists()


def test_currency_mismatch_is_flagged_too():
    user, order = new_order(total=2500)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert deliver(succeeded(payment, currency="EUR")).outcome == "flagged"
    assert order_status(order.id) == "AWAITING_PAYMENT"


def test_success_after_cancel_is_flagged_and_refunded_automatically():
    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    order_services.order_cancel(order_id=order.id, actor="test", reason="too slow")
    assert deliver(succeeded(payment)).outcome == "flagged"
    assert order_status(order.id) == "CANCELLED"
    assert PaymentFlag.objects.get(payment_id=payment.id).kind == "success_after_cancel"
    refund = Refund.objects.get(payment_id=payment.id)
    assert (refund.status, refund.amount, refund.requested_by) == ("requested", payment.amount, "system:payment")
    assert services.refund_submit_requested() == 1
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert refund.provider_reference.startswith("re_")
    assert Payment.objects.get(id=payment.id).refunded_amount == payment.amount
    assert order_status(order.id) == "CANCELLED"
    # Redelivery queues nothing more.
    deliver(succeeded(payment))
    assert Refund.objects.filter(payment_id=payment.id).count() == 1


def test_order_cancelled_event_cancels_the_open_payment_at_stripe(stripe_counter):
    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    order_services.order_cancel(order_id=order.id, actor="test", reason="timeout")
    envelope_payload = OutboxEvent.objects.get(event_type="order.OrderCancelled", aggregate_id=str(order.id))
    from nexuscart.consumers import apply_event, autodiscover
    from nexuscart.events import Envelope

    autodiscover()
    envelope = Envelope(
        id=str(envelope_payload.event_id),
        type=envelope_payload.event_type,
        version=envelope_payload.version,
        aggregate_type=envelope_payload.aggregate_type,
        aggregate_id=envelope_payload.aggregate_id,
        sequence=envelope_payload.sequence,
        occurred_at=envelope_payload.occurred_at.isoformat(),
        payload=envelope_payload.payload,
    )
    assert apply_event("payment", envelope) is True
    assert apply_event("payment", envelope) is False
    assert Payment.objects.get(id=payment.id).status == "canceled"
    assert stripe_counter.calls[f"POST /v1/payment_intents/{payment.provider_reference}/cancel"] == 1


def test_timeout_sweep_then_handler_cancels_the_payment():
    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert order_services.order_cancel_unpaid_expired(older_than=timedelta(seconds=-1)) >= 1
    assert order_status(order.id) == "CANCELLED"
    assert services.payment_cancel_for_order(order_id=order.id) == 1
    assert Payment.objects.get(id=payment.id).status == "canceled"


def test_provider_down_on_create_is_a_503_and_nothing_is_stored(own_stripe_mock):
    user, order = new_order()
    own_stripe_mock.stop()
    with pytest.raises(ServiceUnavailable) as raised:
        services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert raised.value.code == "payment_provider_unavailable"
    assert not Payment.objects.filter(order_id=order.id).exists()


def test_polling_settles_a_paypal_payment_whose_webhook_was_lost(paypal):
    user, order = new_order(total=1250)
    payment = services.payment_create(
        order_id=order.id, user_id=user.id, provider="paypal", return_url="http://shop/return"
    )
    paypal.approve(payment.provider_reference)
    counts = services.payment_poll_late(older_than=timedelta(seconds=-1))
    assert counts == {"polled": 1, "settled": 1, "unavailable": 0}
    assert order_status(order.id) == "PAID"
    assert paypal.calls["POST /v2/checkout/orders/{id}/capture"] == 1
    assert ProviderEvent.objects.get(payment_id=payment.id).provider_event_id.startswith("poll:")
    # The capture webhook arriving late is a harmless duplicate of the same fact.
    capture_id = Payment.objects.get(id=payment.id).capture_reference
    body, headers = paypal.deliver(paypal.capture_event(capture_id))
    assert services.webhook_receive(provider="paypal", body=body, headers=headers).outcome == "already_applied"


def test_polling_stops_at_an_open_breaker(paypal):
    user, order = new_order()
    services.payment_create(order_id=order.id, user_id=user.id, provider="paypal", return_url="http://shop/r")
    paypal.fail_with = 503
    assert services.payment_poll_late(older_than=timedelta(seconds=-1))["unavailable"] == 1


def test_paypal_webhook_flow_approve_capture_refund(paypal):
    user, order = new_order(total=4000)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="paypal", return_url="http://s/r")
    assert payment.approval_url.startswith(paypal.url)
    paypal.approve(payment.provider_reference)
    approved = {
        "id": "WH-APPROVED-1",
        "event_type": "CHECKOUT.ORDER.APPROVED",
        "resource_type": "checkout-order",
        "resource": {
            "id": payment.provider_reference,
            "status": "APPROVED",
            "purchase_units": [{"custom_id": str(order.id), "amount": {"currency_code": "USD", "value": "40.00"}}],
        },
    }
    body, headers = paypal.deliver(approved)
    assert services.webhook_receive(provider="paypal", body=body, headers=headers).outcome == "applied"
    assert order_status(order.id) == "PAID"
    result = services.refund_create(order_id=order.id, amount=1500, requested_by="staff:9", reason="partial")
    assert (result.confirmed, result.order.status, result.order.refunded_total) == (True, "PARTIALLY_REFUNDED", 1500)
    refund_id = Refund.objects.get(order_id=order.id).provider_reference
    body, headers = paypal.deliver(paypal.refund_event(refund_id))
    assert services.webhook_receive(provider="paypal", body=body, headers=headers).outcome == "already_applied"
    assert order_selectors.order_get(order_id=order.id).refunded_total == 1500


def test_paypal_approval_after_cancel_is_never_captured(paypal):
    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="paypal", return_url="http://s/r")
    order_services.order_cancel(order_id=order.id, actor="test", reason="timeout")
    paypal.approve(payment.provider_reference)
    services.paypal_return(order_id=order.id, user_id=user.id, token=payment.provider_reference)
    assert Payment.objects.get(id=payment.id).status == "canceled"
    assert paypal.calls["POST /v2/checkout/orders/{id}/capture"] == 0


def test_reconcile_completes_refunds_and_flags():
    # 1. money taken, order not paid (the success was stored but the order update was lost)
    user, order_a = new_order()
    pay_a = services.payment_create(order_id=order_a.id, user_id=user.id, provider="stripe")
    Payment.objects.filter(id=pay_a.id).update(status="succeeded", captured_amount=pay_a.amount)
    # 2. a double capture: order B paid by one payment, a second payment captured too
    user_b, order_b = new_order()
    pay_b1 = services.payment_create(order_id=order_b.id, user_id=user_b.id, provider="stripe")
    deliver(succeeded(pay_b1))
    pay_b2 = Payment.objects.create(
        order_id=order_b.id,
        user_id=user_b.id,
        provider="stripe",
        provider_reference="pi_double",
        status="succeeded",
        amount=pay_b1.amount,
        currency="USD",
        captured_amount=pay_b1.amount,
        attempt=2,
    )
    # 3. order paid, but our payment row never saw the capture (and stripe-mock says it is not captured)
    user_c, order_c = new_order()
    pay_c = services.payment_create(order_id=order_c.id, user_id=user_c.id, provider="stripe")
    order_services.order_mark_paid(
        order_id=order_c.id, payment_reference=pay_c.provider_reference, amount=pay_c.amount, currency="USD", actor="t"
    )
    actions = {(a.order_id, a.problem, a.action) for a in services.payments_reconcile()}
    assert (order_a.id, "money_without_paid_order", "completed") in actions
    assert (order_b.id, "double_capture", "refund") in actions
    assert (order_c.id, "paid_without_capture", "flagged") in actions
    assert order_status(order_a.id) == "PAID"
    assert Refund.objects.get(payment_id=pay_b2.id).status == "succeeded"
    assert PaymentFlag.objects.filter(payment_id=pay_b2.id, kind="double_capture").exists()
    assert PaymentFlag.objects.filter(payment_id=pay_c.id, kind="paid_without_capture").exists()
    # A second run finds nothing new to do.
    again = {(a.order_id, a.action) for a in services.payments_reconcile()}
    assert (order_a.id, "completed") not in again
    assert (order_b.id, "refund") not in again


def test_unknown_payment_success_is_flagged():
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(reference="pi_nobody", order_id=123, amount=500, currency="USD"),
    )
    assert deliver(event).outcome == "flagged"
    assert PaymentFlag.objects.get(kind="unknown_payment").payment_id is None


def test_invalid_webhook_changes_nothing():
    body, headers = signed_stripe_delivery(stripe_event("payment_intent.succeeded", {"id": "pi_x"}), secret="whsec_bad")
    with pytest.raises(base.WebhookInvalid):
        services.webhook_receive(provider="stripe", body=body, headers=headers)
    assert ProviderEvent.objects.count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_timeout_sweep_to_kafka_to_payment_consumer_cancels_at_stripe(stripe_counter, unique):
    from nexuscart.consumers import EventConsumer
    from nexuscart.relay import relay_until_empty

    user, order = new_order()
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert order_services.order_cancel_unpaid_expired(older_than=timedelta(seconds=-1)) >= 1
    relay_until_empty()
    EventConsumer("payment", consumer_overrides={"group.id": unique("payment")}).run(idle_timeout=5)
    assert Payment.objects.get(id=payment.id).status == "canceled"
    assert stripe_counter.calls[f"POST /v1/payment_intents/{payment.provider_reference}/cancel"] == 1
