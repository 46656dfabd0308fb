"""The admin's live view of a flash sale shows the numbers of a real sale run here (issue 14): purchases
through the hot path (config.asgi's router, real Redis), the order worker, a payment, the outbox
relay and Kafka, then the stream processor (its own consumer group) and the staff page."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from django.contrib.auth.models import Permission

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.services import ReservationWorker
from apps.promotion import live
from apps.promotion.tests.factories import UserFactory, access_token, make_campaign
from nexuscart import kafka
from nexuscart.hotpath import HotRouter, discover_routes
from nexuscart.relay import relay_until_empty

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def _call(app, method: str, path: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()] + [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []
    done = False

    async def receive():
        nonlocal done
        if done:
            await asyncio.sleep(3600)
        done = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"] or b"{}")


def _run_sale(campaign_id: int, buyers: list) -> list[tuple[int, dict]]:
    router = HotRouter(routes=discover_routes(), fallback=None)

    async def run():
        from nexuscart import redis as nc_redis

        answers = []
        for user in [*buyers, buyers[0]]:  # the first buyer comes back: over the limit of 1
            auth = {"authorization": f"Bearer {access_token(user)}"}
            _, issued = await _call(router, "POST", f"/api/v1/flash-sales/{campaign_id}/token", {}, auth)
            answers.append(
                await _call(
                    router, "POST", f"/api/v1/flash-sales/{campaign_id}/purchase", {"token": issued["token"]}, auth
                )
            )
        await nc_redis.aclose_loop_clients()
        return answers

    return asyncio.run(run())


def test_the_live_view_shows_a_real_sale(client, redis_client):
    # Its own consumer group id: reads the session's topics from the start, shares them with nobody.
    processor = live.LiveProcessor(consumer_overrides={"group.id": f"live-test-{uuid.uuid4().hex[:8]}"})
    campaign = make_campaign(quantity=2, per_user_limit=1)
    buyers = [UserFactory() for _ in range(3)]

    answers = _run_sale(campaign.id, buyers)
    assert [status for status, _ in answers] == [202, 202, 409, 422]
    assert live.flush_attempts() >= 1  # the sender thread would do it within half a second
    kafka.producer().flush(10)
    ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.5)
    first = order_selectors.order_get_by_reservation(reservation_id=answers[0][1]["reservation_id"])
    order_services.order_mark_paid(
        order_id=first.id, payment_reference="pi_live_test", amount=first.total, currency=first.currency, actor="test"
    )
    assert relay_until_empty() >= 3  # two OrderCreated, one OrderPaid (and their stock events)

    expected = {"attempt:reserved": 2, "attempt:sold_out": 1, "attempt:limit_exceeded": 1, "orders": 2, "units": 2}
    expected["paid"] = 1

    def caught_up() -> bool:
        totals = live.live_series(campaign_id=campaign.id)["totals"]
        return all(totals[k] >= v for k, v in expected.items())

    processor.run(idle_timeout=20, should_stop=caught_up)
    assert caught_up()

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_flashsalecampaign"))
    client.force_login(staff)
    page = client.get(f"/admin/promotion/flashsalecampaign/{campaign.id}/live/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="fs-live-chart"' in html
    assert "promotion/live.js" in html
    assert f'data-url="/admin/promotion/flashsalecampaign/{campaign.id}/live.json"' in html

    data = client.get(f"/admin/promotion/flashsalecampaign/{campaign.id}/live.json").json()
    assert {k: data["totals"][k] for k in expected} == expected
    assert data["totals"]["attempt:bad_token"] == 0
    assert (data["status"], data["remaining"], data["quantity"]) == ("sold_out", 0, 2)
    # Per second: the rows add up to the totals, each second its own row.
    per_second = {k: sum(row.get(k, 0) for row in data["seconds"]) for k in expected}
    assert per_second == expected
    assert all(row["s"] + 1 == nxt["s"] for row, nxt in zip(data["seconds"], data["seconds"][1:], strict=False))


def test_the_live_view_is_for_staff_with_the_campaign_permission(client, redis_client):
    campaign = make_campaign(quantity=1)
    url = f"/admin/promotion/flashsalecampaign/{campaign.id}/live.json"
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(UserFactory(is_staff=True))  # staff, but no permission on campaigns
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(url).status_code == 200
    assert client.get("/admin/promotion/flashsalecampaign/999999999/live.json").status_code == 404
    change = client.get(f"/admin/promotion/flashsalecampaign/{campaign.id}/change/")
    assert f"/admin/promotion/flashsalecampaign/{campaign.id}/live/" in change.content.decode()
