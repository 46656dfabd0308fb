import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.inventory import selectors, services
from apps.inventory.models import LedgerEntry, Reservation, SkuPolicy, Stock
from apps.inventory.tests.factories import sku_code

pytestmark = pytest.mark.django_db(transaction=True)


def test_expired_reservations_are_swept_once(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 5}, reason="seed")
    services.stock_reserve(reference="order:old", lines={sku: 2}, actor="u", ttl=timedelta(seconds=-1))
    services.stock_reserve(reference="order:new", lines={sku: 1}, actor="u")
    assert services.reservation_sweep_expired() == 1
    assert services.reservation_sweep_expired() == 0
    assert Reservation.objects.get(reference="order:old").status == "RELEASED"
    assert selectors.availability_get(sku=sku) == 4


@pytest.mark.slow
def test_reconcile_command_reports_then_fixes(redis_client, manage_py, subprocess_env):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 5}, reason="seed")
    Stock.objects.filter(sku=sku).update(on_hand=7)
    report = subprocess.run([*manage_py, "reconcile_inventory"], env=subprocess_env(), capture_output=True, text=True)
    assert report.returncode == 1
    assert f"{sku}@MAIN: on_hand is 7, ledger say 5" in report.stdout
    fixed = subprocess.run(
        [*manage_py, "reconcile_inventory", "--fix"], env=subprocess_env(), capture_output=True, text=True
    )
    assert fixed.returncode == 0, fixed.stderr
    clean = subprocess.run([*manage_py, "reconcile_inventory"], env=subprocess_env(), capture_output=True, text=True)
    assert "no differences" in clean.stdout
    assert LedgerEntry.objects.filter(sku=sku, kind="RECONCILE").count() == 1


def test_staff_see_low_stock_and_adjust_in_the_admin(admin_client, redis_client):
    low, plenty = sku_code(), sku_code()
    services.stock_bulk_set(levels={low: 10, plenty: 100}, reason="seed")
    services.stock_reserve(reference="order:a", lines={low: 7}, actor="u")
    assert SkuPolicy.objects.get(sku=low).low_stock_alerted
    page = admin_client.get("/admin/inventory/stock/?level=low")
    assert page.status_code == 200
    assert low in page.content.decode()
    assert plenty not in page.content.decode()
    response = admin_client.post(
        "/admin/inventory/stock/adjust/",
        {"sku": low, "warehouse": "MAIN", "kind": "RECEIPT", "delta": "20", "reason": "delivery #42"},
    )
    assert response.status_code == 302
    assert selectors.availability_get(sku=low) == 23
    assert not SkuPolicy.objects.get(sku=low).low_stock_alerted
    entry = LedgerEntry.objects.filter(sku=low, kind="RECEIPT").get()
    assert (entry.delta_on_hand, entry.reason) == (20, "delivery #42")
    assert entry.actor.startswith("staff:")
    assert entry.created_at <= timezone.now()
