import re
from datetime import timedelta

import pytest
from django.db import connection

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import selectors, services
from apps.order.models import Order, OrderLine, OrderTransition
from apps.order.services import OrderLineInput, checkout
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from nexuscart.errors import Conflict, NotFound
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _checkout(user, sku, quantity=1):
    return services.order_create(
        user_id=user.id, lines=[OrderLineInput(sku, quantity)], shipping_address_id=address_for(user.id)
    )


def test_order_create_snapshots_prices_reserves_and_publishes(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=1250, stock=5)
    order = _checkout(user, sku, 2)
    assert (order.status, order.subtotal, order.total, order.currency) == ("CREATED", 2500, 2500, "USD")
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.line_total) for ln in order.lines] == [(sku, 2, 1250, 2500)]
    assert inventory_selectors.availability_get(sku=sku) == 3
    created = OutboxEvent.objects.get(event_type="order.OrderCreated", aggregate_id=str(order.id))
    assert created.payload["lines"] == [{"sku": sku, "quantity": 2, "unit_price": 1250}]
    assert created.payload["flash_sale"] is None
    assert [h.to_status for h in order.history] == ["CREATED"]


def test_failure_after_the_reservation_leaves_nothing_behind(redis_client, monkeypatch):
    user = UserFactory()
    sku = sku_for_sale(stock=5)
    address_id = address_for(user.id)

    def explode(*args, **kwargs):
        raise RuntimeError("injected failure after reserving stock")

    # After the reservation and the outbox rows (one statement with the stock events).
    monkeypatch.setattr(checkout, "checkout_finish", explode)
    with pytest.raises(RuntimeError):
        services.order_create(user_id=user.id, lines=[OrderLineInput(sku, 3)], shipping_address_id=address_id)
    assert inventory_selectors.availability_get(sku=sku) == 5
    assert inventory_selectors.reservation_count() == 0
    assert not Order.objects.filter(user_id=user.id).exists()
    assert not OrderLine.objects.filter(user_id=user.id).exists()
    assert inventory_services.inventory_reconcile(fix=False) == []


def test_lifecycle_pay_ship_complete_refund_with_history(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=1000, stock=5)
    order = _checkout(user, sku, 2)
    services.order_mark_awaiting_payment(order_id=order.id, actor="payment")
    services.order_mark_paid(order_id=order.id, payment_reference="pi_1", amount=2000, currency="USD", actor="stripe")
    assert (
        services.order_mark_paid(
            order_id=order.id, payment_reference="pi_1", amount=2000, currency="USD", actor="stripe"
        ).status
        == "PAID"
    )
    assert inventory_selectors.stock_level_get(sku=sku).on_hand == 3
    services.order_ship(order_id=order.id, actor="staff:1")
    services.order_complete(order_id=order.id, actor="staff:1")
    services.order_record_refund(order_id=order.id, refunded_total=500, actor="staff:1", reason="damaged")
    final = services.order_record_refund(order_id=order.id, refunded_total=2000, actor="staff:1", reason="rest")
    assert final.status == "REFUNDED"
    assert [(h.from_status, h.to_status) for h in final.history] == [
        ("", "CREATED"),
        ("CREATED", "AWAITING_PAYMENT"),
        ("AWAITING_PAYMENT", "PAID"),
        ("PAID", "SHIPPED"),
        ("SHIPPED", "COMPLETED"),
        ("COMPLETED", "PARTIALLY_REFUNDED"),
        ("PARTIALLY_REFUNDED", "REFUNDED"),
    ]
    types = list(
        OutboxEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.id))
        .order_by("sequence")
        .values_list("event_type", flat=True)
    )
    assert types == [
        "order.OrderCreated",
        "order.OrderAwaitingPayment",
        "order.OrderPaid",
        "order.OrderShipped",
        "order.OrderCompleted",
        "order.OrderRefunded",
        "order.OrderRefunded",
    ]
    assert inventory_services.inventory_reconcile(fix=False) == []


def test_illegal_transitions_are_conflicts_and_change_nothing(redis_client):
    user = UserFactory()
    order = _checkout(user, sku_for_sale(stock=3))
    with pytest.raises(Conflict) as exc:
        services.order_ship(order_id=order.id, actor="staff")
    assert exc.value.code == "illegal_transition"
    services.order_cancel(order_id=order.id, actor="user", reason="changed my mind")
    with pytest.raises(Conflict):
        services.order_mark_paid(
            order_id=order.id, payment_reference="x", amount=order.total, currency="USD", actor="p"
        )
    assert selectors.order_get(order_id=order.id).status == "CANCELLED"
    assert OrderTransition.objects.filter(order_id=order.id).count() == 2


def test_cancel_releases_the_stock_and_publishes_lines(redis_client):
    user = UserFactory()
    sku = sku_for_sale(stock=4)
    order = _checkout(user, sku, 4)
    assert inventory_selectors.availability_get(sku=sku) == 0
    services.order_cancel(order_id=order.id, actor="user", reason="oops", user_id=user.id)
    assert inventory_selectors.availability_get(sku=sku) == 4
    event = OutboxEvent.objects.get(event_type="order.OrderCancelled", aggregate_id=str(order.id))
    assert event.payload["lines"] == [{"sku": sku, "quantity": 4, "unit_price": 1999}]


def test_someone_elses_order_is_not_found_for_them(redis_client):
    owner, other = UserFactory(), UserFactory()
    order = _checkout(owner, sku_for_sale())
    assert selectors.order_get(order_id=order.id, user_id=other.id) is None
    with pytest.raises(NotFound):
        services.order_cancel(order_id=order.id, user_id=other.id, actor="x", reason="x")


def test_flash_sale_order_is_idempotent_on_reservation(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=500, stock=5)
    kwargs = {
        "reservation_id": "r-123",
        "campaign_id": 9,
        "user_id": user.id,
        "sku": sku,
        "quantity": 1,
        "unit_price": 300,
        "currency": "USD",
    }
    first = services.order_create_for_flash_sale(**kwargs)
    second = services.order_create_for_flash_sale(**kwargs)
    assert first.id == second.id
    assert first.status == "AWAITING_PAYMENT"
    assert (first.flash_sale_campaign_id, first.flash_sale_reservation_id, first.total) == (9, "r-123", 300)
    assert selectors.order_get_by_reservation(reservation_id="r-123").id == first.id
    assert OutboxEvent.objects.get(event_type="order.OrderCreated", aggregate_id=str(first.id)).payload[
        "flash_sale"
    ] == {"campaign_id": 9, "reservation_id": "r-123"}
    assert Order.objects.filter(user_id=user.id).count() == 1


def test_timeout_sweep_cancels_old_unpaid_orders_only(redis_client):
    user = UserFactory()
    sku = sku_for_sale(stock=5)
    old, fresh = _checkout(user, sku, 2), _checkout(user, sku, 1)
    Order.objects.filter(user_id=user.id, id=old.id).update(created_at=old.created_at - timedelta(hours=2))
    assert services.order_cancel_unpaid_expired(older_than=timedelta(minutes=30)) == 1
    assert selectors.order_get(order_id=old.id).status == "CANCELLED"
    assert selectors.order_get(order_id=fresh.id).status == "CREATED"
    assert inventory_selectors.availability_get(sku=sku) == 4


def test_listing_a_users_orders_reads_one_partition(redis_client):
    user = UserFactory()
    sku = sku_for_sale(stock=10)
    for _ in range(3):
        _checkout(user, sku)
    page = selectors.order_list(user_id=user.id, limit=2)
    assert len(page.results) == 2
    rest = selectors.order_list(user_id=user.id, cursor=page.next_cursor, limit=2)
    assert len(rest.results) == 1
    assert rest.next_cursor is None
    sql, params = selectors.order_list_queryset(user_id=user.id).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scanned = set(re.findall(r" on (order_order_p\d+)", plan))
    assert len(scanned) == 1, plan
