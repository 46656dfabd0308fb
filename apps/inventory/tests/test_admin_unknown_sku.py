"""Issue 15 #7: the staff stock adjustment refuses an unknown SKU with the service's reason on the form,
and writes no phantom stock row."""

from __future__ import annotations

import pytest

from apps.inventory.models import Stock, Warehouse

pytestmark = pytest.mark.django_db


def test_stock_adjust_refuses_an_unknown_sku_on_the_form(admin_client):
    Warehouse.objects.get_or_create(code="MAIN", defaults={"name": "Main", "priority": 1, "active": True})
    response = admin_client.post(
        "/admin/inventory/stock/adjust/",
        {"sku": "NO-SUCH-SKU-1", "warehouse": "MAIN", "kind": "RECEIPT", "delta": 5, "reason": "typo"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "No SKU &#x27;NO-SUCH-SKU-1&#x27;" in html or "No SKU 'NO-SUCH-SKU-1'" in html
    assert "available now" not in html
    assert not Stock.objects.filter(sku="NO-SUCH-SKU-1").exists()
