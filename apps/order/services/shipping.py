"""Where and how an order ships: the address of an order that has none yet, shipping methods and
US sales tax by destination state (tables staff edit in the admin; checkout keeps what it charged).

The shopper picks one of their addresses for an order that has none yet:

Flash-sale orders are created by the sale's worker from a reservation, before the shopper has
said where to ship; they must get an address before they can be paid (the pay page and the
staff Ship button refuse without one). Ordinary checkout sets the address when the order is
created (services.order_create).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from apps.order.events import PAYABLE
from apps.order.models import Order, SalesTaxRate, ShippingMethod
from apps.order.shipping_defaults import METHODS, STATE_RATES
from apps.user import selectors as user_selectors
from nexuscart.errors import ApplicationError, Conflict, NotFound


@transaction.atomic
def order_shipping_address_set(*, order_id: int, user_id: int, address_id: int) -> dict:
    """Copy one of the user's addresses onto their unpaid order; returns the stored snapshot."""
    address = user_selectors.address_get(user_id=user_id, address_id=address_id)
    if address is None:
        raise ApplicationError(f"Address {address_id} is not one of your addresses.", code="unknown_address")
    order = Order.objects.select_for_update().filter(id=order_id, user_id=user_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.", code="order_not_found")
    if order.status not in PAYABLE:
        raise Conflict(
            "The shipping address can only be changed before the order is paid.",
            code="address_locked",
            extra={"order_status": order.status},
        )
    snapshot = dataclasses.asdict(address)
    # A plain UPDATE: the status (django-fsm's protected field) is not touched.
    Order.objects.filter(id=order_id, user_id=user_id).update(
        shipping_address_id=address.id, shipping_address=snapshot, updated_at=timezone.now()
    )
    return snapshot


def order_has_shipping_address(order) -> bool:
    """Works for the model and for selectors.OrderSnapshot alike."""
    return bool(getattr(order, "shipping_address", None))


# --- shipping methods and US sales tax --------------------------------------------------------------
@dataclass(frozen=True)
class ShippingOption:
    code: str
    name: str
    price: int
    free_over: int | None
    days: str

    def price_for(self, goods: int) -> int:
        return 0 if self.free_over is not None and goods >= self.free_over else self.price


@dataclass(frozen=True)
class ShippingQuote:
    """What delivery and sales tax add to goods worth `goods` (after discounts), shipped to `state`."""

    method: str
    method_name: str
    shipping: int
    tax: int
    tax_rate: Decimal


def shipping_options() -> list[ShippingOption]:
    """Active methods from the staff-edited table (the defaults when the table is empty)."""
    rows = list(ShippingMethod.objects.all())
    if not rows:
        return [ShippingOption(code, name, price, free, days) for code, name, price, free, days, _ in METHODS]
    return [ShippingOption(r.code, r.name, r.price, r.free_over, r.days) for r in rows if r.is_active]


def sales_tax_rate(state: str) -> Decimal:
    rate = SalesTaxRate.objects.filter(state=(state or "").upper()).values_list("rate", flat=True).first()
    if rate is None and not SalesTaxRate.objects.exists():
        rate = Decimal(STATE_RATES.get((state or "").upper(), "0"))
    return rate or Decimal("0")


def shipping_quote(*, method: str, goods: int, state: str) -> ShippingQuote:
    """Shipping for the chosen method and sales tax on the goods (after discounts) for the state.

    Tax is rounded half up to the cent; shipping itself is not taxed (states differ; see
    shipping_defaults for what the rates cover).
    """
    option = next((o for o in shipping_options() if o.code == method), None)
    if option is None:
        raise ApplicationError(f"Unknown shipping method {method!r}.", code="unknown_shipping_method")
    rate = sales_tax_rate(state)
    tax = int((Decimal(max(goods, 0)) * rate / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return ShippingQuote(option.code, option.name, option.price_for(goods), tax, rate)
