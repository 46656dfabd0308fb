"""Staff endpoints and the Django-served flash-sale reads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.inventory import selectors as inventory_selectors
from apps.promotion.tests.factories import UserFactory, make_campaign, make_sku

pytestmark = pytest.mark.django_db


def window(minutes_from_now: int = 5, minutes: int = 30) -> tuple[str, str]:
    start = timezone.now() + timezone.timedelta(minutes=minutes_from_now)
    return start.isoformat(), (start + timezone.timedelta(minutes=minutes)).isoformat()


def test_staff_schedule_a_flash_sale_taking_its_units_from_inventory_then_warm_it_up(client, redis_client):
    sku, _ = make_sku(stock=50)
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="merchandiser"))  # the staff role (issue 13 #3)
    client.force_login(staff)
    starts_at, ends_at = window()
    body = {"sku": sku, "price": 1999, "quantity": 20, "starts_at": starts_at, "ends_at": ends_at, "per_user_limit": 2}
    created = client.post("/api/v1/staff/flash-sales", body, content_type="application/json")
    assert created.status_code == 201
    campaign = created.json()
    assert (campaign["status"], campaign["remaining"], campaign["price"]) == ("scheduled", 20, 1999)
    assert inventory_selectors.availability_get(sku=sku) == 30
    too_many = client.post("/api/v1/staff/flash-sales", {**body, "quantity": 31}, content_type="application/json")
    assert (too_many.status_code, too_many.json()["code"]) == (409, "insufficient_stock")
    unknown = client.post("/api/v1/staff/flash-sales", {**body, "sku": "NOPE"}, content_type="application/json")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_sku")
    backwards = client.post(
        "/api/v1/staff/flash-sales",
        {**body, "ends_at": starts_at, "starts_at": ends_at},
        content_type="application/json",
    )
    assert backwards.status_code == 422

    warmed = client.post(f"/api/v1/staff/flash-sales/{campaign['id']}/warmup")
    assert warmed.status_code == 200
    assert redis_client.get(f"fs:{{{campaign['id']}}}:stock") == b"20"
    listed = client.get("/api/v1/flash-sales").json()
    assert [c["id"] for c in listed] == [campaign["id"]]
    assert client.get("/api/v1/flash-sales/999999").status_code == 404


def test_shoppers_cannot_use_the_staff_endpoints(client):
    client.force_login(UserFactory())
    starts_at, ends_at = window()
    body = {"sku": "X", "price": 1, "quantity": 1, "starts_at": starts_at, "ends_at": ends_at, "per_user_limit": 1}
    assert client.post("/api/v1/staff/flash-sales", body, content_type="application/json").status_code == 403
    assert client.post("/api/v1/staff/coupons", {"code": "ABC", "kind": "percent", "value": 5}).status_code == 403


def test_staff_create_coupons(client):
    merchandiser = UserFactory(is_staff=True)
    merchandiser.groups.add(Group.objects.get(name="merchandiser"))  # the staff role (issue 13 #3)
    client.force_login(merchandiser)
    body = {"code": "spring-10", "kind": "percent", "value": 10, "max_uses": 100, "max_uses_per_user": 1}
    created = client.post("/api/v1/staff/coupons", body, content_type="application/json")
    assert created.status_code == 201
    assert (created.json()["code"], created.json()["used_count"]) == ("SPRING-10", 0)
    again = client.post("/api/v1/staff/coupons", body, content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "duplicate_code")
    bad = client.post("/api/v1/staff/coupons", {**body, "code": "X2", "value": 150}, content_type="application/json")
    assert bad.status_code in (400, 422)


def test_the_storefront_pages_show_the_sale(client, redis_client):
    campaign = make_campaign(quantity=7)
    assert "7 of 7 left" in client.get("/flash-sales/").content.decode()
    anonymous = client.get(f"/flash-sales/{campaign.id}/").content.decode()
    assert "Sign in to buy" in anonymous
    client.force_login(UserFactory())
    page = client.get(f"/flash-sales/{campaign.id}/").content.decode()
    assert 'id="fs-buy"' in page
    assert client.get("/flash-sales/424242/").status_code == 404


def test_the_demo_command_schedules_a_warm_sale_a_few_minutes_ahead(redis_client):
    import io

    from django.core.management import call_command

    from apps.promotion import selectors

    out = io.StringIO()
    call_command("flashsale_demo", "--starts-in", "180", "--quantity", "5", stdout=out)
    (campaign,) = selectors.campaign_list()
    assert campaign.status == "scheduled"
    assert 170 < (campaign.starts_at - timezone.now()).total_seconds() <= 180
    assert redis_client.get(f"fs:{{{campaign.id}}}:stock") == b"5"
    assert f"/flash-sales/{campaign.id}/" in out.getvalue()
