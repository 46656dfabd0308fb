"""Refunds through the real order state machine and stripe-mock: webhooks in any order, staff refunds, caps."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.order import selectors as order_selectors
from apps.payment import services
from apps.payment.models import Payment, Refund
from apps.payment.tests.stripe_flows import deliver, new_order, order_status, refunded, succeeded
from nexuscart.errors import Conflict, Unprocessable

pytestmark = pytest.mark.django_db


def test_refund_webhook_before_the_success_is_applied_after_it():
    user, order = new_order(total=3000)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert deliver(refunded(payment, refund_id="re_early", amount=1000)).outcome == "deferred"
    assert order_status(order.id) == "AWAITING_PAYMENT"
    assert deliver(succeeded(payment)).outcome == "applied"
    final = order_selectors.order_get(order_id=order.id)
    assert (final.status, final.refunded_total) == ("PARTIALLY_REFUNDED", 1000)
    assert Payment.objects.get(id=payment.id).refunded_amount == 1000


def test_refund_webhooks_move_the_order_and_never_count_twice():
    user, order = new_order(total=3000)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    deliver(succeeded(payment))
    deliver(refunded(payment, refund_id="re_a", amount=1000, status="pending"))
    assert order_status(order.id) == "PAID"
    deliver(refunded(payment, refund_id="re_a", amount=1000))
    deliver(refunded(payment, refund_id="re_a", amount=1000))
    assert order_selectors.order_get(order_id=order.id).refunded_total == 1000
    deliver(refunded(payment, refund_id="re_b", amount=2000))
    final = order_selectors.order_get(order_id=order.id)
    assert (final.status, final.refunded_total) == ("REFUNDED", 3000)


def paid_order(total=3000):
    user, order = new_order(total=total)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    deliver(succeeded(payment))
    return user, order, payment


def test_staff_partial_then_full_refund_through_stripe_mock():
    _, order, payment = paid_order(total=3000)
    first = services.refund_create(order_id=order.id, amount=1000, requested_by="staff:1", reason="scratched")
    assert (first.confirmed, first.order.status, first.order.refunded_total) == (True, "PARTIALLY_REFUNDED", 1000)
    assert (first.refund.requested_by, first.refund.reason) == ("staff:1", "scratched")
    rest = services.refund_create(order_id=order.id, amount=None, requested_by="staff:1", reason="returned")
    assert (rest.refund.amount, rest.order.status, rest.order.refunded_total) == (2000, "REFUNDED", 3000)
    assert Payment.objects.get(id=payment.id).refunded_amount == 3000


def test_over_refund_is_refused():
    _, order, _ = paid_order(total=3000)
    services.refund_create(order_id=order.id, amount=2500, requested_by="staff:1", reason="x")
    with pytest.raises(Unprocessable) as raised:
        services.refund_create(order_id=order.id, amount=501, requested_by="staff:1", reason="x")
    assert raised.value.code == "refund_exceeds_captured"
    assert raised.value.extra["refundable"] == 500


def test_refund_is_idempotent_on_its_key():
    _, order, _ = paid_order(total=3000)
    first = services.refund_create(order_id=order.id, amount=700, requested_by="s", reason="x", idempotency_key="k1")
    second = services.refund_create(order_id=order.id, amount=700, requested_by="s", reason="x", idempotency_key="k1")
    assert first.refund.id == second.refund.id
    assert second.replayed
    assert Refund.objects.filter(order_id=order.id).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_refunds_never_exceed_the_capture():
    _, order, payment = paid_order(total=3000)
    outcomes, barrier = [], threading.Barrier(8)

    def refund():
        barrier.wait()
        try:
            services.refund_create(order_id=order.id, amount=1000, requested_by="staff:t", reason="race")
            outcomes.append("ok")
        except Unprocessable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    assert Payment.objects.get(id=payment.id).refunded_amount == 3000
    assert sum(Refund.objects.filter(payment_id=payment.id).values_list("amount", flat=True)) == 3000
    assert order_status(order.id) == "REFUNDED"


def test_refund_of_an_unpaid_order_is_a_conflict():
    _, order = new_order()
    with pytest.raises(Conflict):
        services.refund_create(order_id=order.id, amount=None, requested_by="s", reason="x")
