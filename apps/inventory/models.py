"""Tables of the inventory context. Other contexts refer to its rows by id only, never by foreign key."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Warehouse(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    # Lower numbers are drawn from first when reserving (see services.stock_reserve).
    priority = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("priority", "code")

    def __str__(self) -> str:
        return self.code


class Stock(models.Model):
    """On hand and reserved units of one SKU in one warehouse; available = on_hand - reserved."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stocks")
    sku = models.CharField(max_length=64, db_index=True)
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("sku", "warehouse"), name="inventory_stock_sku_warehouse_uniq"),
            # The database itself refuses an oversell, whatever the application does.
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_stock_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="inventory_stock_reserved_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku}@{self.warehouse_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class KnownSku(models.Model):
    """A SKU the catalog announced (catalog.SkuCreated). Inventory keeps its own list so it can tell a
    real SKU from a typo without asking the catalog, which sits above it in the context layers."""

    sku = models.CharField(max_length=64, primary_key=True)
    product_id = models.BigIntegerField(null=True, blank=True)
    announced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "known SKU"

    def __str__(self) -> str:
        return self.sku


class SkuPolicy(models.Model):
    """Per-SKU settings: the low-stock threshold and whether the current dip was already announced."""

    sku = models.CharField(max_length=64, primary_key=True)
    low_stock_threshold = models.PositiveIntegerField(default=5)
    # Set when LowStock is published, cleared when availability rises above the threshold again:
    # one alert per crossing, not one per sale.
    low_stock_alerted = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "SKU policies"

    def __str__(self) -> str:
        return self.sku


class Reservation(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        CONFIRMED = "CONFIRMED"
        RELEASED = "RELEASED"

    # e.g. "order:<id>" or "campaign:<id>"; one reservation per reference.
    reference = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=200, default="system")

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservation_lines")
    sku = models.CharField(max_length=64)
    warehouse_code = models.CharField(max_length=32)
    quantity = models.PositiveIntegerField()
    # Why this warehouse was chosen (the allocation rule in force), kept for audits.
    allocation_rule = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity} @{self.warehouse_code}"


class LedgerEntry(models.Model):
    """One row per stock change: Σ delta_on_hand = on_hand and Σ delta_reserved = reserved per stock row."""

    class Kind(models.TextChoices):
        SET = "SET", "bulk set"
        RECEIPT = "RECEIPT", "receipt"
        CORRECTION = "CORRECTION", "correction"
        RESERVE = "RESERVE", "reserve"
        RELEASE = "RELEASE", "release"
        CONFIRM = "CONFIRM", "confirm (shipped out)"
        CAMPAIGN_ALLOCATE = "CAMPAIGN_ALLOCATE", "flash-sale allocation"
        CAMPAIGN_RETURN = "CAMPAIGN_RETURN", "flash-sale return"
        RECONCILE = "RECONCILE", "reconcile fix"

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="ledger")
    sku = models.CharField(max_length=64, db_index=True)
    warehouse_code = models.CharField(max_length=32)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delta_on_hand = models.IntegerField(default=0)
    delta_reserved = models.IntegerField(default=0)
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    reference = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.kind} {self.sku} {self.delta_on_hand:+d}/{self.delta_reserved:+d}"


class CampaignAllocation(models.Model):
    """Units moved out of general availability into a flash sale (held as a campaign reservation)."""

    campaign_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    allocated = models.PositiveIntegerField(default=0)
    sold = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("campaign_id", "sku"), name="inventory_campaign_sku_uniq")]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} {self.sku}"
