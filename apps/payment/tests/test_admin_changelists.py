"""The payment admin list: the customer's e-mail, linked to the user, and open flags without N+1 (#12)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.payment import services
from apps.payment.models import Payment, PaymentFlag
from apps.payment.tests.factories import StaffFactory, UserFactory, awaiting_payment_order

pytestmark = pytest.mark.django_db


def test_payment_list_shows_the_customer_email(client):
    user = UserFactory(email="shopper-12@example.com")
    order = awaiting_payment_order(user_id=user.id, total=2000)
    services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    client.force_login(StaffFactory(is_superuser=True))

    html = client.get("/admin/payment/payment/").content.decode()
    assert "shopper-12@example.com" in html
    assert f"/admin/user/user/{user.id}/change/" in html


def _seed(count: int, *, user_id: int) -> None:
    """Payment rows straight in the table (the list's query count is measured, not the flow): every
    third one has an open flag, and every one a resolved flag (which is not "open")."""
    Payment.objects.all().delete()
    payments = Payment.objects.bulk_create(
        [
            Payment(
                order_id=9_000_000 + count * 100 + i,
                user_id=user_id,
                provider="stripe",
                provider_reference=f"pi_list_{count}_{i}",
                amount=1000 + i,
                currency="USD",
                attempt=1,
            )
            for i in range(count)
        ]
    )
    open_flags = [PaymentFlag(payment=p, order_id=p.order_id, kind="amount_mismatch", detail="") for p in payments[::3]]
    resolved = [
        PaymentFlag(payment=p, order_id=p.order_id, kind="refund_failed", detail="y", resolved=True) for p in payments
    ]
    PaymentFlag.objects.bulk_create(open_flags + resolved)


def test_open_flag_column_costs_no_query_per_row(client, django_assert_max_num_queries):
    """The "open flag" column ran one EXISTS query per listed payment (N+1); it is annotated now."""
    user = UserFactory()
    client.force_login(StaffFactory(is_superuser=True))

    _seed(1, user_id=user.id)
    with CaptureQueriesContext(connection) as one:
        html = client.get("/admin/payment/payment/").content.decode()
    assert html.count('alt="True"') == 1

    _seed(30, user_id=user.id)
    with django_assert_max_num_queries(len(one)):
        html = client.get("/admin/payment/payment/").content.decode()
    assert html.count('alt="True"') == 10
    assert html.count('alt="False"') == 20
