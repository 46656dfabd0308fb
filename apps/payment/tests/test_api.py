"""HTTP contract: payments, webhooks and staff refunds, with real concurrent clients where it matters."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from rest_framework_simplejwt.tokens import RefreshToken

from apps.order import selectors as order_selectors
from apps.payment import services
from apps.payment.models import Payment, ProviderEvent
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import StaffFactory, UserFactory, awaiting_payment_order
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}


def bearer_header(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def pay(client, user, order_id, provider="stripe", key=None):
    return client.post(
        f"/api/v1/orders/{order_id}/payments",
        {"provider": provider},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
        **bearer(user),
    )


def post_retrying(url, **kwargs) -> requests.Response:
    """A client that reconnects when the test server's small listen backlog resets it under load,
    resending the same request (same Idempotency-Key / same webhook), as real clients and providers do."""
    for attempt in range(5):
        try:
            return requests.post(url, timeout=60, **kwargs)
        except requests.ConnectionError:
            time.sleep(0.05 * (attempt + 1))
    return requests.post(url, timeout=60, **kwargs)


def succeeded_event(payment_id):
    payment = Payment.objects.get(id=payment_id)
    return stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment.provider_reference, order_id=payment.order_id, amount=payment.amount, currency="USD"
        ),
    )


def post_webhook(client, body, headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    return client.post("/api/v1/webhooks/stripe", body, content_type="application/json", **extra)


def test_create_payment_returns_201_with_client_secret(client):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=1999)
    response = pay(client, user, order.id)
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "provider", "provider_reference", "status", "amount", "currency", "client_secret"}
    assert isinstance(body["id"], str)
    assert (body["provider"], body["status"], body["amount"], body["currency"]) == ("stripe", "pending", 1999, "USD")
    assert body["client_secret"].startswith("pi_")


def test_create_payment_requires_an_idempotency_key(client):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    response = client.post(
        f"/api/v1/orders/{order.id}/payments", {"provider": "stripe"}, content_type="application/json", **bearer(user)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"


def test_create_payment_key_replays_its_payment_and_is_refused_for_another_request(client, paypal):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    first = pay(client, user, order.id, key="pay-once")
    body, headers = signed_stripe_delivery(succeeded_event(first.json()["id"]))
    assert post_webhook(client, body, headers).status_code == 200
    assert order_selectors.order_get(order_id=order.id).status == "PAID"
    again = pay(client, user, order.id, key="pay-once")  # the client retries after the order was paid
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    other = pay(client, user, order.id, provider="paypal", key="pay-once")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert pay(client, user, order.id, key="a-new-key").status_code == 409
    assert Payment.objects.filter(order_id=order.id).count() == 1


def test_someone_elses_order_is_404_and_a_paid_order_409(client):
    owner, stranger = UserFactory(), UserFactory()
    order = awaiting_payment_order(user_id=owner.id)
    assert pay(client, stranger, order.id).status_code == 404
    payment_id = pay(client, owner, order.id).json()["id"]
    body, headers = signed_stripe_delivery(succeeded_event(payment_id))
    assert post_webhook(client, body, headers).status_code == 200
    response = pay(client, owner, order.id)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "order_not_payable"


def test_unknown_provider_is_400(client):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    assert pay(client, user, order.id, provider="bitcoin").status_code == 400


def test_paypal_payment_returns_an_approval_url(client, paypal):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=4500)
    response = pay(client, user, order.id, provider="paypal")
    assert response.status_code == 201
    assert response.json()["approval_url"].startswith(f"{paypal.url}/checkoutnow?token=")
    assert paypal.orders[response.json()["provider_reference"]]["purchase_units"][0]["amount"]["value"] == "45.00"


@pytest.mark.parametrize("case", ["wrong_secret", "tampered", "stale", "missing_header"])
def test_invalid_stripe_webhooks_are_400_and_change_nothing(client, case, settings):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    payment_id = pay(client, user, order.id).json()["id"]
    event = succeeded_event(payment_id)
    secret = "whsec_wrong" if case == "wrong_secret" else None
    stamp = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE - 10 if case == "stale" else None
    body, headers = signed_stripe_delivery(event, secret=secret, timestamp=stamp)
    body = body.replace(b'"amount": 2500', b'"amount": 2499') if case == "tampered" else body
    headers = {} if case == "missing_header" else headers
    response = post_webhook(client, body, headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook"
    assert ProviderEvent.objects.count() == 0
    assert order_selectors.order_get(order_id=order.id).status == "AWAITING_PAYMENT"


def test_valid_paypal_webhook_200_and_tampered_400(client, paypal):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=1000)
    reference = pay(client, user, order.id, provider="paypal").json()["provider_reference"]
    paypal.approve(reference)
    event = {
        "id": "WH-1",
        "event_type": "CHECKOUT.ORDER.APPROVED",
        "resource": {
            "id": reference,
            "status": "APPROVED",
            "purchase_units": [{"custom_id": str(order.id), "amount": {"currency_code": "USD", "value": "10.00"}}],
        },
    }
    body, headers = paypal.deliver(event)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    tampered = client.post(
        "/api/v1/webhooks/paypal", body.replace(b"10.00", b"0.10"), content_type="application/json", **extra
    )
    assert tampered.status_code == 400
    assert order_selectors.order_get(order_id=order.id).status == "AWAITING_PAYMENT"
    ok = client.post("/api/v1/webhooks/paypal", body, content_type="application/json", **extra)
    assert ok.status_code == 200
    assert order_selectors.order_get(order_id=order.id).status == "PAID"


@pytest.mark.slow
def test_same_webhook_delivered_5_times_concurrently_changes_state_once(live_server):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    event = succeeded_event(payment.id)
    body, headers = signed_stripe_delivery(event)
    url = f"{live_server.url}/api/v1/webhooks/stripe"
    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: post_retrying(url, data=body, headers=headers), range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True, True, True, True]
    assert ProviderEvent.objects.filter(provider_event_id=event["id"]).count() == 1
    assert order_selectors.order_get(order_id=order.id).status == "PAID"
    assert OutboxEvent.objects.filter(event_type="order.OrderPaid", aggregate_id=str(order.id)).count() == 1
    history = order_selectors.order_get(order_id=order.id).history
    assert [t.to_status for t in history].count("PAID") == 1


@pytest.mark.slow
def test_50_concurrent_creates_with_one_key_make_one_payment_intent(live_server, stripe_counter):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    headers = {**bearer_header(user), "Idempotency-Key": f"pay-{uuid.uuid4()}", "Content-Type": "application/json"}
    url = f"{live_server.url}/api/v1/orders/{order.id}/payments"
    payload = json.dumps({"provider": "stripe"})
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: post_retrying(url, data=payload, headers=headers), range(50)))
    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["provider_reference"] for r in responses}) == 1
    assert stripe_counter.calls["POST /v1/payment_intents"] == 1
    assert Payment.objects.filter(order_id=order.id).count() == 1


@pytest.mark.slow
def test_50_concurrent_creates_with_different_keys_still_make_one_payment_intent(live_server, stripe_counter):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    url = f"{live_server.url}/api/v1/orders/{order.id}/payments"

    def create(n):
        headers = {**bearer_header(user), "Idempotency-Key": f"k-{n}", "Content-Type": "application/json"}
        return post_retrying(url, data=json.dumps({"provider": "stripe"}), headers=headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(create, range(50)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert stripe_counter.calls["POST /v1/payment_intents"] == 1


@pytest.mark.slow
def test_provider_down_503_problem_breaker_opens_then_closes(client, own_stripe_mock):
    user = UserFactory()
    orders = [awaiting_payment_order(user_id=user.id) for _ in range(5)]
    own_stripe_mock.stop()
    statuses = []
    for order in orders[:3]:
        response = pay(client, user, order.id)
        statuses.append(response.status_code)
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "payment_provider_unavailable"
    assert statuses == [503, 503, 503]
    started = time.monotonic()
    fast = pay(client, user, orders[3].id)
    assert fast.status_code == 503
    assert time.monotonic() - started < 0.5
    assert "circuit open" in fast.json()["detail"]
    assert fast.json()["retry_after"] >= 1
    own_stripe_mock.start()
    time.sleep(1.1)
    assert pay(client, user, orders[4].id).status_code == 201
    assert pay(client, user, orders[3].id).status_code == 201


def paid_order(client, total=3000):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=total)
    payment_id = pay(client, user, order.id).json()["id"]
    body, headers = signed_stripe_delivery(succeeded_event(payment_id))
    assert post_webhook(client, body, headers).status_code == 200
    return order


def refund(client, staff, order_id, amount=None, key=None):
    body = {} if amount is None else {"amount": amount}
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/v1/staff/orders/{order_id}/refund",
        {**body, "reason": "customer returned it"},
        content_type="application/json",
        **bearer(staff),
        **extra,
    )


def test_staff_refund_api_partial_full_and_over_refund(client):
    order = paid_order(client, total=3000)
    staff = StaffFactory()
    partial = refund(client, staff, order.id, 1200, key="r-1")
    assert partial.status_code == 200
    assert (partial.json()["status"], partial.json()["refunded_total"]) == ("PARTIALLY_REFUNDED", 1200)
    assert partial.json()["refund"]["requested_by"].startswith(f"staff:{staff.id}")
    replay = refund(client, staff, order.id, 1200, key="r-1")
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    over = refund(client, staff, order.id, 1801, key="r-2")
    assert over.status_code == 422
    assert over.json()["code"] == "refund_exceeds_captured"
    full = refund(client, staff, order.id, key="r-3")
    assert (full.status_code, full.json()["status"], full.json()["refunded_total"]) == (200, "REFUNDED", 3000)
    assert full.json()["refund"]["amount"] == 1800


def test_refund_api_is_staff_only(client):
    order = paid_order(client)
    assert refund(client, UserFactory(), order.id).status_code == 403


def test_refund_pending_at_the_provider_is_202_until_its_webhook_confirms(client, paypal):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=2000)
    reference = pay(client, user, order.id, provider="paypal").json()["provider_reference"]
    paypal.approve(reference)
    services.paypal_return(order_id=order.id, user_id=user.id, token=reference)
    assert order_selectors.order_get(order_id=order.id).status == "PAID"
    paypal.refund_status = "PENDING"
    response = refund(client, StaffFactory(), order.id, 500, key="pending-1")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["refund"]["status"]) == ("PAID", "pending")
    refund_id = next(iter(paypal.refunds))
    paypal.settle_refund(refund_id)
    body, headers = paypal.deliver(paypal.refund_event(refund_id))
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    assert client.post("/api/v1/webhooks/paypal", body, content_type="application/json", **extra).status_code == 200
    final = order_selectors.order_get(order_id=order.id)
    assert (final.status, final.refunded_total) == ("PARTIALLY_REFUNDED", 500)


def test_paypal_not_configured_is_503(client, settings):
    settings.PAYPAL_CLIENT_ID = ""
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    response = pay(client, user, order.id, provider="paypal")
    assert (response.status_code, response.json()["code"]) == (503, "payment_provider_not_configured")
