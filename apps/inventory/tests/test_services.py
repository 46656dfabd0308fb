import pytest

from apps.inventory import selectors, services
from apps.inventory.models import LedgerEntry, Reservation, SkuPolicy, Stock
from apps.inventory.tests.factories import WarehouseFactory, sku_code
from nexuscart.errors import Conflict, Unprocessable
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _events(event_type, sku):
    return list(
        OutboxEvent.objects.filter(event_type=event_type, aggregate_id=sku)
        .order_by("sequence")
        .values_list("payload", flat=True)
    )


def test_bulk_set_creates_rows_ledger_and_events(redis_client):
    a, b = sku_code(), sku_code()
    services.stock_bulk_set(levels={a: 10, b: 0}, reason="seed")
    services.stock_bulk_set(levels={a: 7}, reason="recount", actor="alice")
    assert selectors.availability_get_many(skus=[a, b, "nope"]) == {a: 7, b: 0}
    assert selectors.availability_get(sku="nope") is None
    ledger = list(LedgerEntry.objects.filter(sku=a).order_by("id").values_list("delta_on_hand", "actor", "kind"))
    assert ledger == [(10, "system", "SET"), (-3, "alice", "SET")]
    assert [p["available"] for p in _events("inventory.StockLevelChanged", a)] == [10, 7]
    assert redis_client.get(f"inv:{{{a}}}:available") == b"7"


def test_bulk_set_refuses_negative_levels():
    with pytest.raises(Unprocessable):
        services.stock_bulk_set(levels={sku_code(): -1}, reason="seed")
    assert not Stock.objects.exists()


def test_reserve_allocates_by_priority_then_most_stock_and_release_gives_back(redis_client):
    sku = sku_code()
    WarehouseFactory(code="NEAR", priority=1)
    WarehouseFactory(code="FAR", priority=5)
    WarehouseFactory(code="FAR2", priority=5)
    services.stock_bulk_set(levels={sku: 2}, reason="seed", warehouse_code="NEAR")
    services.stock_bulk_set(levels={sku: 3}, reason="seed", warehouse_code="FAR")
    services.stock_bulk_set(levels={sku: 9}, reason="seed", warehouse_code="FAR2")
    whole = services.stock_reserve(reference="order:1", lines={sku: 2}, actor="u")
    assert [(line.warehouse_code, line.quantity) for line in whole.lines] == [("NEAR", 2)]
    one_place = services.stock_reserve(reference="order:2", lines={sku: 6}, actor="u")
    assert [(line.warehouse_code, line.quantity) for line in one_place.lines] == [("FAR2", 6)]
    split = services.stock_reserve(reference="order:3", lines={sku: 5}, actor="u")
    assert [(line.warehouse_code, line.quantity) for line in split.lines] == [("FAR", 3), ("FAR2", 2)]
    assert selectors.availability_get(sku=sku) == 1
    assert services.stock_release(reference="order:2", actor="u", reason="cancel") is True
    assert services.stock_release(reference="order:2", actor="u", reason="again") is False
    assert selectors.availability_get(sku=sku) == 7
    assert services.inventory_reconcile(fix=False) == []


def test_reserve_more_than_available_is_a_conflict_and_leaves_nothing(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 3}, reason="seed")
    with pytest.raises(Conflict) as exc:
        services.stock_reserve(reference="order:2", lines={sku: 4}, actor="u")
    assert exc.value.code == "insufficient_stock"
    assert not Reservation.objects.exists()
    assert Stock.objects.get(sku=sku).reserved == 0


def test_confirm_takes_units_out_once(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 5}, reason="seed")
    services.stock_reserve(reference="order:3", lines={sku: 2}, actor="u")
    assert services.stock_confirm(reference="order:3", actor="pay", reason="paid") is True
    assert services.stock_confirm(reference="order:3", actor="pay", reason="paid") is False
    stock = Stock.objects.get(sku=sku)
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert services.inventory_reconcile(fix=False) == []


def test_low_stock_is_published_once_per_crossing(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 8}, reason="seed")
    SkuPolicy.objects.filter(sku=sku).update(low_stock_threshold=5)
    for n in range(5):
        services.stock_reserve(reference=f"order:low{n}", lines={sku: 1}, actor="u")
    assert [p["available"] for p in _events("inventory.LowStock", sku)] == [5]
    services.stock_adjust(sku=sku, delta=10, reason="receipt", actor="staff")
    services.stock_reserve(reference="order:low-again", lines={sku: 9}, actor="u")
    assert [p["available"] for p in _events("inventory.LowStock", sku)] == [5, 4]


def test_adjust_cannot_take_on_hand_below_reserved(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 5}, reason="seed")
    services.stock_reserve(reference="order:4", lines={sku: 4}, actor="u")
    with pytest.raises(Conflict):
        services.stock_adjust(sku=sku, delta=-2, reason="breakage", actor="staff")
    assert services.stock_adjust(sku=sku, delta=-1, reason="breakage", actor="staff") == 0


def test_campaign_allocation_holds_units_and_returns_them_once(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 10}, reason="seed")
    services.stock_allocate_for_campaign(sku=sku, quantity=6, campaign_id=77, actor="staff")
    assert selectors.availability_get(sku=sku) == 4
    with pytest.raises(Conflict):
        services.stock_allocate_for_campaign(sku=sku, quantity=5, campaign_id=78, actor="staff")
    assert (
        services.stock_confirm_campaign_units(campaign_id=77, sku=sku, quantity=2, reference="order:9", actor="p") == 2
    )
    services.stock_return_from_campaign(sku=sku, quantity=4, campaign_id=77, actor="staff")
    services.stock_return_from_campaign(sku=sku, quantity=4, campaign_id=77, actor="staff")
    stock = Stock.objects.get(sku=sku)
    assert (stock.on_hand, stock.reserved) == (8, 0)
    assert services.inventory_reconcile(fix=False) == []


def test_reconcile_reports_and_fixes_drift(redis_client):
    sku = sku_code()
    services.stock_bulk_set(levels={sku: 5}, reason="seed")
    Stock.objects.filter(sku=sku).update(on_hand=9, reserved=1)
    issues = services.inventory_reconcile(fix=True)
    assert sorted((i.field, i.actual, i.expected) for i in issues) == [("on_hand", 9, 5), ("reserved", 1, 0)]
    assert services.inventory_reconcile(fix=False) == []
    assert selectors.availability_get(sku=sku) == 9
