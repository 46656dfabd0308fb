"""Tables of the order context. Other contexts refer to its rows by id only, never by foreign key.

Orders, their lines and their transitions live in tables hash-partitioned by user_id, created
by RunSQL in migrations/0001 (Django cannot declare partitioning): every primary key and unique
constraint there starts with user_id, so Citus can distribute them by user_id unchanged
(docker/citus/README.md). Django sees `id` as the primary key (a snowflake, unique by
construction) and the models are unmanaged; queries that know the user filter by user_id too,
so PostgreSQL prunes to one partition.
"""

from __future__ import annotations

from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.order import events

# Django choices built from the one vocabulary in events.py (members compare equal to their strings).
OrderStatus = models.TextChoices("OrderStatus", [(s.name, s.value) for s in events.OrderStatus])

S = OrderStatus
# django-fsm wants lists of sources; sorted so the transition graph is stable.
PAYABLE = sorted(events.PAYABLE)
CANCELLABLE = sorted(events.CANCELLABLE)
REFUNDABLE = sorted(events.REFUNDABLE)


class Order(ConcurrentTransitionMixin, models.Model):
    """An order; `status` changes only through the transitions below (optimistic locking on status)."""

    id = models.BigIntegerField(primary_key=True)
    user_id = models.BigIntegerField()
    status = FSMField(max_length=32, choices=OrderStatus.choices, default=S.CREATED, protected=True)
    subtotal = models.BigIntegerField()
    discount = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    coupon_code = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001  (None = no coupon, as in events)
    shipping_address_id = models.BigIntegerField(null=True, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    flash_sale_campaign_id = models.BigIntegerField(null=True, blank=True)
    flash_sale_reservation_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    payment_reference = models.CharField(max_length=200, blank=True, default="")
    refunded_total = models.BigIntegerField(default=0)
    # What was charged for delivery and sales tax at checkout (minor units), and how it ships.
    shipping = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    shipping_method = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        managed = False
        db_table = "order_order"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"Order {self.id}"

    def _do_update(self, base_qs, *args, **kwargs):
        # Name the partition key so the UPDATE touches one partition.
        return super()._do_update(base_qs.filter(user_id=self.user_id), *args, **kwargs)

    @transition(field=status, source=S.CREATED, target=S.AWAITING_PAYMENT)
    def await_payment(self) -> None:
        pass

    @transition(field=status, source=PAYABLE, target=S.PAID)
    def pay(self) -> None:
        pass

    @transition(field=status, source=CANCELLABLE, target=S.CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=status, source=S.PAID, target=S.SHIPPED)
    def ship(self) -> None:
        pass

    @transition(field=status, source=S.SHIPPED, target=S.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=status, source=REFUNDABLE, target=S.PARTIALLY_REFUNDED)
    def refund_partially(self) -> None:
        pass

    @transition(field=status, source=REFUNDABLE, target=S.REFUNDED)
    def refund_fully(self) -> None:
        pass


class OrderLine(models.Model):
    """A snapshot of what was bought: SKU, name and unit price as they were at checkout."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.BigIntegerField()
    order = models.ForeignKey(Order, on_delete=models.DO_NOTHING, db_constraint=False, related_name="lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_price = models.BigIntegerField()
    line_total = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "order_orderline"
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"


class OrderTransition(models.Model):
    """One row per status change: from, to, who, why, when."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.BigIntegerField()
    order = models.ForeignKey(Order, on_delete=models.DO_NOTHING, db_constraint=False, related_name="transitions")
    from_status = models.CharField(max_length=32, blank=True, default="")
    to_status = models.CharField(max_length=32)
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "order_ordertransition"
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class OrderId(models.Model):
    """order id -> user_id for every order: the global unique index on order id (migration 0004).

    Filled by a trigger on order_order, never written by code. Also says which partition
    (user_id) holds an order when only its id is known.
    """

    id = models.BigIntegerField(primary_key=True)
    user_id = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "order_orderid"

    def __str__(self) -> str:
        return f"order id {self.id}"


class FlashSaleOrder(models.Model):
    """reservation id -> order: keeps reservation ids unique across all partitions (a plain table)."""

    reservation_id = models.CharField(max_length=64, primary_key=True)
    order_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reservation_id


class Cart(models.Model):
    user_id = models.BigIntegerField(unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"cart of {self.user_id}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("cart", "sku"), name="order_cartitem_cart_sku_uniq")]
        ordering = ("added_at", "id")

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"


class ShippingMethod(models.Model):
    """A delivery option offered at checkout; staff edit prices in the admin."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    price = models.BigIntegerField(help_text="Minor units (cents).")
    free_over = models.BigIntegerField(
        null=True, blank=True, help_text="Free when the goods (after discounts) reach this amount, in cents."
    )
    days = models.CharField(max_length=40, blank=True, help_text='Shown to shoppers, e.g. "3-5 business days".')
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("position", "price", "code")
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="shipping_price_not_negative")]

    def __str__(self) -> str:
        return self.name


class SalesTaxRate(models.Model):
    """US sales tax by destination state (percent of the goods after discounts); staff keep it current."""

    state = models.CharField(max_length=2, unique=True)
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text="Percent, e.g. 7.2500 for 7.25 %.")

    class Meta:
        ordering = ("state",)
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0, rate__lte=25), name="sales_tax_rate_in_range")
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.rate}%"
