"""Write entry points of the inventory context: keyword-only, typed, one transaction, events to the outbox.

One module per use case, re-exported here so `from apps.inventory import services` keeps working:
- `stock`: bulk set, staff adjustments, the SKUs inventory knows (learned from catalog events);
- `reservations`: checkout try / confirm / release and the expiry sweep;
- `campaigns`: flash-sale allocations, their sales and the return of unsold units;
- `reconcile`: stock rows against their ledger and live reservations;
- `warehouses`: where stock is kept;
- `levels`: what every write shares (ledger rows, StockLevelChanged / LowStock, the hot-path copy).
"""

from apps.inventory.selectors import (
    ReconcileIssue,
    StockLevel,
    availability_get,
    availability_get_many,
    stock_level_get,
)
from apps.inventory.services.campaigns import (
    stock_allocate_for_campaign,
    stock_confirm_campaign_units,
    stock_return_campaign_units,
    stock_return_from_campaign,
)
from apps.inventory.services.levels import availability_cache_refresh
from apps.inventory.services.reconcile import inventory_reconcile
from apps.inventory.services.reservations import (
    ALLOCATION_RULE,
    ReservationLineSnapshot,
    ReservationSnapshot,
    reservation_sweep_expired,
    stock_confirm,
    stock_release,
    stock_reserve,
)
from apps.inventory.services.stock import known_sku_record, stock_adjust, stock_bulk_set
from apps.inventory.services.warehouses import warehouse_ensure

__all__ = [
    "ALLOCATION_RULE",
    "ReconcileIssue",
    "ReservationLineSnapshot",
    "ReservationSnapshot",
    "StockLevel",
    "availability_cache_refresh",
    "availability_get",
    "availability_get_many",
    "inventory_reconcile",
    "known_sku_record",
    "reservation_sweep_expired",
    "stock_adjust",
    "stock_allocate_for_campaign",
    "stock_bulk_set",
    "stock_confirm",
    "stock_confirm_campaign_units",
    "stock_level_get",
    "stock_release",
    "stock_reserve",
    "stock_return_campaign_units",
    "stock_return_from_campaign",
    "warehouse_ensure",
]
