import pytest

from apps.order import selectors, services
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_lists_filters_shows_history_and_runs_transitions(admin_client, redis_client):
    user = UserFactory()
    order = services.order_create(
        user_id=user.id,
        lines=[services.OrderLineInput(sku_for_sale(price=100), 1)],
        shipping_address_id=address_for(user.id),
    )
    services.order_mark_paid(order_id=order.id, payment_reference="pi_9", amount=100, currency="USD", actor="t")
    listing = admin_client.get("/admin/order/order/?status__exact=PAID")
    assert str(order.id) in listing.content.decode()
    detail = admin_client.get(f"/admin/order/order/{order.id}/change/")
    assert detail.status_code == 200
    assert "payment pi_9" in detail.content.decode()  # the transition's reason, in the history inline
    response = admin_client.post("/admin/order/order/", {"action": "ship_orders", "_selected_action": [str(order.id)]})
    assert response.status_code == 302
    final = selectors.order_get(order_id=order.id)
    assert final.status == "SHIPPED"
    assert final.history[-1].actor.startswith("staff:")
    refused = admin_client.post(
        "/admin/order/order/", {"action": "cancel_orders", "_selected_action": [str(order.id)]}, follow=True
    )
    assert "cannot be cancelled" in refused.content.decode()
    assert selectors.order_get(order_id=order.id).status == "SHIPPED"


def test_the_order_list_reads_customers_with_the_rows_not_one_query_per_order(admin_client, redis_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def listed(n: int) -> tuple[int, str]:
        for _ in range(n):
            user = UserFactory()
            services.order_create(
                user_id=user.id,
                lines=[services.OrderLineInput(sku_for_sale(price=100), 1)],
                shipping_address_id=address_for(user.id),
            )
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get("/admin/order/order/")
        assert page.status_code == 200
        return len(queries), page.content.decode()

    listed(0)  # the first request of a session reads more (session, permissions)
    few, _ = listed(2)
    many, html = listed(4)
    assert many == few
    assert html.count("@") >= 6  # every customer's e-mail is shown
