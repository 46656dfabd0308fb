import contextlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group
from rest_framework_simplejwt.tokens import AccessToken

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import selectors, services
from apps.order.models import Order, OrderLine
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from nexuscart.errors import Conflict
from nexuscart.models import IdempotencyRecord, OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _auth(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"}


def _post(client, user, path, body, key: str | None = "auto", raw: str | None = None):
    headers = _auth(user)
    if key == "auto":
        key = uuid.uuid4().hex
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    data = raw if raw is not None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def _nothing_written(user_id: int) -> bool:
    return not (
        Order.objects.filter(user_id=user_id).exists()
        or OrderLine.objects.filter(user_id=user_id).exists()
        or inventory_selectors.reservation_count() > 0
        or OutboxEvent.objects.filter(event_type="order.OrderCreated").exists()
    )


def test_checkout_api_replays_same_key_and_rejects_other_body(client, redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=700, stock=5)
    body = {"items": [{"sku": sku, "quantity": 2}], "shipping_address_id": address_for(user.id)}
    first = _post(client, user, "/api/v1/orders", body, key="k-1")
    again = _post(client, user, "/api/v1/orders", body, key="k-1")
    other = _post(client, user, "/api/v1/orders", {**body, "items": [{"sku": sku, "quantity": 1}]}, key="k-1")
    assert first.status_code == 201, first.content
    assert first.json()["id"] == again.json()["id"]
    assert isinstance(first.json()["id"], str)
    assert again.status_code == 201
    assert other.status_code == 422
    assert Order.objects.filter(user_id=user.id).count() == 1
    assert inventory_selectors.availability_get(sku=sku) == 3


@pytest.mark.parametrize(
    ("items", "status", "code"),
    [
        ([{"sku": "NO-SUCH-SKU", "quantity": 1}], 400, "unknown_sku"),
        ([{"sku": "@", "quantity": 0}], 400, "validation_error"),
        ([{"sku": "@", "quantity": -3}], 400, "validation_error"),
        ([{"sku": "@", "quantity": 10**12}], 400, "validation_error"),
        ([{"sku": "@", "quantity": 500}], 400, "invalid_quantity"),
        ([{"sku": "@", "quantity": "2"}], 400, "validation_error"),
        ([{"sku": "@", "quantity": 1.5}], 400, "validation_error"),
        ([{"sku": "@", "quantity": 6}], 409, "insufficient_stock"),
        ([], 400, "validation_error"),
    ],
)
def test_bad_checkout_input_is_a_clear_4xx_and_writes_nothing(client, redis_client, items, status, code):
    user = UserFactory()
    sku = sku_for_sale(stock=5)
    items = [{**item, "sku": sku if item["sku"] == "@" else item["sku"]} for item in items]
    response = _post(client, user, "/api/v1/orders", {"items": items, "shipping_address_id": address_for(user.id)})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert _nothing_written(user.id)
    assert inventory_selectors.availability_get(sku=sku) == 5


def test_someone_elses_address_missing_key_and_malformed_json_are_refused(client, redis_client):
    user, stranger = UserFactory(), UserFactory()
    sku = sku_for_sale(stock=5)
    body = {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_for(stranger.id)}
    foreign = _post(client, user, "/api/v1/orders", body)
    no_key = _post(client, user, "/api/v1/orders", {**body, "shipping_address_id": address_for(user.id)}, key=None)
    malformed = _post(client, user, "/api/v1/orders", None, raw='{"items": [')
    assert (foreign.status_code, foreign.json()["code"]) == (400, "unknown_address")
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_request")
    assert _nothing_written(user.id)
    assert not IdempotencyRecord.objects.filter(status_code__gte=500).exists()


def test_orders_list_detail_cancel_and_isolation(client, redis_client):
    owner, other = UserFactory(), UserFactory()
    sku = sku_for_sale(stock=5)
    created = _post(
        client,
        owner,
        "/api/v1/orders",
        {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_for(owner.id)},
    ).json()
    listing = client.get("/api/v1/orders", **_auth(owner)).json()
    assert [o["id"] for o in listing["results"]] == [created["id"]]
    assert client.get("/api/v1/orders", **_auth(other)).json()["results"] == []
    assert client.get(f"/api/v1/orders/{created['id']}", **_auth(other)).status_code == 404
    assert client.post(f"/api/v1/orders/{created['id']}/cancel", **_auth(other)).status_code == 404
    cancelled = client.post(f"/api/v1/orders/{created['id']}/cancel", **_auth(owner))
    assert cancelled.json()["status"] == "CANCELLED"
    again = client.post(f"/api/v1/orders/{created['id']}/cancel", **_auth(owner))
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    detail = client.get(f"/api/v1/orders/{created['id']}", **_auth(owner)).json()
    assert [(h["from"], h["to"]) for h in detail["history"]] == [(None, "CREATED"), ("CREATED", "CANCELLED")]


def test_staff_ship_complete_need_staff(client, redis_client):
    shopper, staff = UserFactory(), UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="warehouse"))  # the staff role (issue 13 #3)
    order = services.order_create(
        user_id=shopper.id,
        lines=[services.OrderLineInput(sku_for_sale(price=100), 1)],
        shipping_address_id=address_for(shopper.id),
    )
    services.order_mark_paid(order_id=order.id, payment_reference="pi", amount=100, currency="USD", actor="t")
    assert client.post(f"/api/v1/staff/orders/{order.id}/ship", **_auth(shopper)).status_code == 403
    assert client.post(f"/api/v1/staff/orders/{order.id}/complete", **_auth(staff)).status_code == 409
    assert client.post(f"/api/v1/staff/orders/{order.id}/ship", **_auth(staff)).json()["status"] == "SHIPPED"
    assert client.post(f"/api/v1/staff/orders/{order.id}/complete", **_auth(staff)).json()["status"] == "COMPLETED"


def test_staff_stock_adjust(client, redis_client):
    shopper, staff = UserFactory(), UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="warehouse"))  # the staff role (issue 13 #3)
    sku = sku_for_sale(stock=2)
    path = f"/api/v1/staff/inventory/{sku}/adjust"
    body = json.dumps({"delta": 5, "reason": "receipt from supplier"})
    assert client.post(path, body, content_type="application/json", **_auth(shopper)).status_code == 403
    ok = client.post(path, body, content_type="application/json", **_auth(staff))
    assert ok.json() == {"sku": sku, "available": 7}
    too_many = client.post(
        path, json.dumps({"delta": -8, "reason": "x"}), content_type="application/json", **_auth(staff)
    )
    assert (too_many.status_code, too_many.json()["code"]) == (409, "insufficient_stock")
    assert inventory_selectors.ledger_entry_count(sku=sku, kind="CORRECTION", actor_prefix="staff:") == 1


def test_cart_api_for_users_and_guests_merging_on_sign_in(client, redis_client):
    sku, other_sku = sku_for_sale(price=300, stock=5), sku_for_sale(price=200, stock=1)
    guest = client.post("/api/v1/cart/items", {"sku": sku, "quantity": 2}, content_type="application/json")
    assert guest.status_code == 201
    assert (
        client.post("/api/v1/cart/items", {"sku": "NOPE", "quantity": 1}, content_type="application/json").status_code
        == 400
    )
    short = client.post("/api/v1/cart/items", {"sku": other_sku, "quantity": 2}, content_type="application/json")
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    user = UserFactory()
    client.force_login(user)
    cart = client.get("/api/v1/cart").json()
    assert [(i["sku"], i["quantity"], i["line_total"]) for i in cart["items"]] == [(sku, 2, 600)]
    assert (cart["subtotal"], cart["discount"], cart["total"]) == (600, 0, 600)
    patched = client.patch(f"/api/v1/cart/items/{sku}", {"quantity": 3}, content_type="application/json")
    assert patched.json()["items"][0]["quantity"] == 3
    assert client.delete(f"/api/v1/cart/items/{sku}").status_code == 204
    assert client.get("/api/v1/cart").json()["items"] == []


@pytest.mark.slow
def test_200_concurrent_checkouts_for_50_units_sell_exactly_50(live_server, redis_client):
    sku = sku_for_sale(price=999, stock=50)
    buyers = [UserFactory() for _ in range(200)]
    jobs = [(str(AccessToken.for_user(u)), address_for(u.id)) for u in buyers]
    barrier = threading.Barrier(40)
    session = requests.Session

    def buy(job):
        token, address_id = job
        with session() as http:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            response = http.post(
                f"{live_server.url}/api/v1/orders",
                json={"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_id},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                timeout=60,
            )
            return response.status_code, response.json().get("code")

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(buy, jobs))
    statuses = sorted(set(results))
    assert [r[0] for r in results].count(201) == 50, statuses
    assert {r for r in results if r[0] != 201} == {(409, "insufficient_stock")}
    # The order tables are unmanaged (partitioned), so the test flush leaves other tests' rows: count ours.
    assert Order.objects.filter(user_id__in=[u.id for u in buyers]).count() == 50
    level = inventory_selectors.stock_level_get(sku=sku)
    assert (level.on_hand, level.reserved) == (50, 50)
    assert inventory_selectors.availability_get(sku=sku) == 0
    assert inventory_services.inventory_reconcile(fix=False) == []


def _race(*calls) -> list[str]:
    """Run the calls in threads released together; each outcome is a status or a Conflict code."""
    from django.db import connection

    outcomes, barrier = [], threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            outcomes.append(call().status)
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return sorted(outcomes)


def test_pay_and_cancel_race_exactly_one_wins(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=100, stock=50)
    for _ in range(5):
        order = services.order_create(
            user_id=user.id, lines=[services.OrderLineInput(sku, 1)], shipping_address_id=address_for(user.id)
        )
        outcomes = _race(
            lambda order_id=order.id: services.order_mark_paid(
                order_id=order_id, payment_reference="pi", amount=100, currency="USD", actor="stripe"
            ),
            lambda order_id=order.id: services.order_cancel(order_id=order_id, actor="user", reason="race"),
        )
        assert outcomes in (["PAID", "illegal_transition"], ["CANCELLED", "illegal_transition"])
        final = selectors.order_get(order_id=order.id)
        assert final.status in ("PAID", "CANCELLED")
        assert len(final.history) == 2
    assert inventory_services.inventory_reconcile(fix=False) == []


def test_two_timeout_sweeps_at_once_release_each_reservation_once(redis_client):
    user = UserFactory()
    sku = sku_for_sale(stock=30)
    ids = [
        services.order_create(
            user_id=user.id, lines=[services.OrderLineInput(sku, 1)], shipping_address_id=address_for(user.id)
        ).id
        for _ in range(12)
    ]
    Order.objects.filter(user_id=user.id).update(status="AWAITING_PAYMENT")
    from django.utils import timezone

    Order.objects.filter(user_id=user.id).update(created_at=timezone.now() - timedelta(hours=1))
    counts, barrier = [], threading.Barrier(2)

    def sweep():
        from django.db import connection

        barrier.wait()
        try:
            counts.append(services.order_cancel_unpaid_expired(older_than=timedelta(minutes=30)))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(counts) == 12
    assert inventory_selectors.ledger_entry_count(sku=sku, kind="RELEASE") == 12
    assert inventory_selectors.availability_get(sku=sku) == 30
    assert all(selectors.order_get(order_id=i).status == "CANCELLED" for i in ids)
    assert inventory_services.inventory_reconcile(fix=False) == []
