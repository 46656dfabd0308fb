"""SIGKILL of the Celery worker and of a Kafka consumer mid-operation: nothing lost, nothing applied twice.

The other background processes have theirs elsewhere: the relay (nexuscart/tests/test_relay_faults.py,
killed between produce and the delete of its delivered queue rows), the flash-sale worker
(apps/promotion/tests/test_flash_sale_load.py, apps/promotion/tests/test_flash_sale_drain.py) and the
web server (tests/faults/test_process_kills.py).

Here the programs run under supervisord as scripts/run runs them (tests/stack.py), on the fault
suite's own PostgreSQL and Redis (tests/faults/conftest.py); each is killed with its whole process
group (the Celery pool too) while it has work in hand, and supervisord starts it again.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.faults.harness import Faults
from tests.stack import start_stack

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(300)]


def run_setup(faults: Faults, script: str) -> dict:
    result = faults.manage("shell", "-c", script)
    for line in result.stdout.splitlines():
        if line.startswith("FAULTS-JSON:"):
            return json.loads(line.removeprefix("FAULTS-JSON:"))
    raise RuntimeError(f"setup failed:\n{result.stdout}\n{result.stderr}")


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# Captured payments of cancelled orders: each is flagged and queues ONE automatic refund, whose
# Celery task (apps.payment.tasks.submit_refund) is in the broker before any worker runs.
_REFUNDS_SETUP = """
import json
from apps.order import services as order_services
from apps.order.services import OrderLineInput
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.payment import services as payment_services
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
sku = sku_for_sale(price=1500, stock={n})
payments = []
for _ in range({n}):
    user = UserFactory()
    order = order_services.order_create(
        user_id=user.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address_for(user.id)
    )
    payment = payment_services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    order_services.order_cancel(order_id=order.id, actor="test", reason="changed my mind")
    event = stripe_event("payment_intent.succeeded", payment_intent_object(
        reference=payment.provider_reference, order_id=order.id, amount=payment.amount, currency="USD"))
    body, headers = signed_stripe_delivery(event)
    assert payment_services.webhook_receive(provider="stripe", body=body, headers=headers).outcome == "flagged"
    payments.append(payment.id)
print("FAULTS-JSON:" + json.dumps({{"payments": payments}}))
"""


def test_celery_worker_sigkilled_mid_refunds_pays_each_refund_exactly_once(faults: Faults):
    n = 16
    data = run_setup(faults, _REFUNDS_SETUP.format(n=n))
    payments = data["payments"]

    def refunds() -> dict[str, int]:
        return dict(
            faults.sql(
                "SELECT status, count(*) FROM payment_refund WHERE payment_id = ANY(%s) GROUP BY status", payments
            )
        )

    assert refunds() == {"requested": n}
    faults.heal()
    # Each refund's call to stripe-mock takes a little while, so the kill finds some sent and some not.
    faults.toxic("stripe", "latency", latency=400)
    try:
        with start_stack(faults.app_env(), programs=("worker", "beat"), timeout=90) as stack:
            wait_for(lambda: refunds().get("succeeded", 0) >= 2, 90, "the worker to send a first refund")
            pid = stack.pid("worker")
            os.killpg(pid, signal.SIGKILL)  # the worker and its pool, with tasks in hand (acks_late)
            at_kill = refunds()
            assert at_kill.get("succeeded", 0) < n, f"the kill came too late to prove anything: {at_kill}"
            stack.wait_restarted("worker", pid, timeout=60)
            # Tasks unacked by the dead worker wait for the broker's visibility timeout; the beat's
            # refund sweep (every 30 s) resends the REQUESTED rows under the same provider key.
            wait_for(lambda: refunds() == {"succeeded": n}, 150, f"all {n} refunds to succeed (at kill: {at_kill})")
    finally:
        faults.heal()

    books = faults.sql(
        "SELECT p.id, p.captured_amount, p.refunded_amount, count(r.id), sum(r.amount) FROM payment_payment p "
        "JOIN payment_refund r ON r.payment_id = p.id WHERE p.id = ANY(%s) GROUP BY p.id",
        payments,
    )
    assert len(books) == n
    for payment_id, captured, refunded, count, total in books:
        assert (count, total, refunded) == (1, captured, captured), payment_id  # one refund, counted once
    result = faults.manage("reconcile_payments")
    assert result.returncode == 0, result.stdout + result.stderr


# Orders that used a coupon, then cancelled: each OrderCancelled gives one use back through the
# promotion consumer (apps/promotion/handlers.py), after the relay ships it.
_COUPON_SETUP = """
import json, uuid
from apps.order import services as order_services
from apps.order.services import OrderLineInput
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.promotion import services as promotion_services
sku = sku_for_sale(price=2000, stock={n})
code = "KILL" + uuid.uuid4().hex[:8].upper()
promotion_services.coupon_create(code=code, kind="percent", value=10)
orders = []
for _ in range({n}):
    user = UserFactory()
    order = order_services.order_create(
        user_id=user.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address_for(user.id), coupon_code=code
    )
    order_services.order_cancel(order_id=order.id, actor="test", reason="changed my mind")
    orders.append(order.id)
print("FAULTS-JSON:" + json.dumps({{"code": code, "orders": orders}}))
"""


def test_consumer_sigkilled_mid_stream_applies_every_event_exactly_once(faults: Faults):
    n = 60
    data = run_setup(faults, _COUPON_SETUP.format(n=n))
    code, orders = data["code"], data["orders"]
    events = faults.sql(
        "SELECT event_id FROM nexuscart_outboxevent WHERE event_type = 'order.OrderCancelled' "
        "AND aggregate_id = ANY(%s)",
        [str(o) for o in orders],
    )
    assert len(events) == n
    event_ids = [e[0] for e in events]

    def applied() -> int:
        (row,) = faults.sql(
            "SELECT count(*) FROM nexuscart_inboxevent WHERE \"group\" = 'promotion' AND event_id = ANY(%s)",
            event_ids,
        )
        return row[0]

    faults.heal()
    # Each event's transaction waits a little on PostgreSQL, so the stream is still flowing at the kill.
    faults.toxic("postgres", "latency", latency=15)
    try:
        with start_stack(
            faults.app_env(), programs=("relay", "beat", "consumer-promotion"), consumers=["promotion"], timeout=90
        ) as stack:
            wait_for(lambda: applied() >= 3, 120, "the consumer to apply a first event")
            pid = stack.pid("consumer-promotion")
            os.killpg(pid, signal.SIGKILL)
            at_kill = applied()
            assert at_kill < n, f"the kill came too late to prove anything ({at_kill} of {n} applied)"
            stack.wait_restarted("consumer-promotion", pid, timeout=60)
            wait_for(lambda: applied() == n, 150, f"all {n} events applied (at kill: {at_kill})")
    finally:
        faults.heal()

    (used,) = faults.sql("SELECT used_count FROM promotion_coupon WHERE code = %s", code)
    assert used == (0,)  # every use given back, none twice (it never went below zero, and none kept)
    released = faults.sql(
        "SELECT r.status, count(*) FROM promotion_couponredemption r JOIN promotion_coupon c ON c.id = r.coupon_id "
        "WHERE c.code = %s GROUP BY r.status",
        code,
    )
    assert released == [("released", n)]
    assert faults.sql("SELECT count(*) FROM nexuscart_deadletter") == [(0,)]
    for command in ("reconcile_inventory", "reconcile_order_reservations"):
        result = faults.manage(command)
        assert result.returncode == 0, result.stdout + result.stderr
