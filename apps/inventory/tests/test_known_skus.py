"""Inventory learns SKUs from the catalog's events and refuses to adjust stock of a SKU nobody announced."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.inventory import selectors, services
from apps.inventory.models import KnownSku, LedgerEntry, Stock
from apps.inventory.tests.factories import sku_code
from nexuscart.consumers import apply_event
from nexuscart.errors import NotFound
from nexuscart.events import Envelope

pytestmark = pytest.mark.django_db(transaction=True)


def _sku_created(sku: str, product_id: int = 42) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        type="catalog.SkuCreated",
        version=1,
        aggregate_type="product",
        aggregate_id=str(product_id),
        sequence=1,
        occurred_at=timezone.now().isoformat(),
        payload={"sku": sku, "product_id": product_id},
    )


def test_adjusting_an_unknown_sku_is_refused_and_writes_nothing(redis_client):
    sku = sku_code()
    with pytest.raises(NotFound) as exc:
        services.stock_adjust(sku=sku, delta=5, reason="receipt", actor="staff")
    assert exc.value.code == "unknown_sku"
    assert not Stock.objects.filter(sku=sku).exists()
    assert not LedgerEntry.objects.filter(sku=sku).exists()


def test_a_sku_announced_by_the_catalog_can_be_stocked_once_per_event(redis_client):
    sku = sku_code()
    envelope = _sku_created(sku, product_id=7)
    assert apply_event("inventory", envelope) is True
    assert apply_event("inventory", envelope) is False  # redelivered: no second effect
    assert KnownSku.objects.get(sku=sku).product_id == 7
    assert selectors.sku_is_known(sku=sku)
    assert services.stock_adjust(sku=sku, delta=5, reason="first receipt", actor="staff") == 5
    assert Stock.objects.get(sku=sku).on_hand == 5


def test_staff_api_answers_404_problem_for_an_unknown_sku(client, redis_client):
    staff = get_user_model().objects.create_user(email=f"{uuid.uuid4().hex[:8]}@example.com", password="x" * 12)
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="change_stock", content_type__app_label="inventory"))
    client.force_login(staff)
    sku = sku_code()
    path = f"/api/v1/staff/inventory/{sku}/adjust"
    body = json.dumps({"delta": 5, "reason": "receipt"})
    refused = client.post(path, body, content_type="application/json")
    assert refused.status_code == 404
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "unknown_sku"
    assert not Stock.objects.filter(sku=sku).exists()
    apply_event("inventory", _sku_created(sku))
    accepted = client.post(path, body, content_type="application/json")
    assert (accepted.status_code, accepted.json()) == (200, {"sku": sku, "available": 5})
