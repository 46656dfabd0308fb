"""The shopping cart: a signed-in shopper's cart in PostgreSQL, a guest's in the session, merged on sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.catalog import selectors as catalog_selectors
from apps.inventory import selectors as inventory_selectors
from apps.order.models import Cart, CartItem
from apps.order.selectors import cart_items_get
from apps.order.services.common import line_name, skus_for_sale, validate_quantity
from apps.order.services.pricing import discount_quote
from nexuscart.errors import Conflict, NotFound


@dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    product_slug: str
    image_url: str
    quantity: int
    unit_price: int
    line_total: int
    available: int
    in_stock: bool
    is_active: bool


@dataclass(frozen=True)
class CartView:
    items: tuple[CartLine, ...]
    subtotal: int
    discount: int
    total: int
    currency: str
    coupon_code: str | None


def _check_stock(sku: str, quantity: int) -> None:
    available = inventory_selectors.availability_get(sku=sku) or 0
    if quantity > available:
        raise Conflict(
            f"Only {available} of {sku} available.",
            code="insufficient_stock",
            extra={"sku": sku, "requested": quantity, "available": available},
        )


@transaction.atomic
def cart_item_set(*, user_id: int, sku: str, quantity: int, add: bool = False) -> dict[str, int]:
    """Set (or with add=True, increase) a line of the signed-in user's cart; 0 removes it."""
    validate_quantity(quantity, allow_zero=not add)
    skus_for_sale([sku])
    cart, _ = Cart.objects.get_or_create(user_id=user_id)
    item = CartItem.objects.select_for_update().filter(cart=cart, sku=sku).first()
    target = (item.quantity if item and add else 0) + quantity
    if target == 0:
        CartItem.objects.filter(cart=cart, sku=sku).delete()
    else:
        validate_quantity(target)
        _check_stock(sku, target)
        CartItem.objects.update_or_create(cart=cart, sku=sku, defaults={"quantity": target})
    Cart.objects.filter(id=cart.id).update(updated_at=timezone.now())
    return cart_items_get(user_id=user_id)


def guest_cart_item_set(*, items: dict[str, int], sku: str, quantity: int, add: bool = False) -> dict[str, int]:
    """The same rules for a guest's session cart; returns the new items (the caller stores them)."""
    validate_quantity(quantity, allow_zero=not add)
    skus_for_sale([sku])
    target = (items.get(sku, 0) if add else 0) + quantity
    result = dict(items)
    if target == 0:
        result.pop(sku, None)
        return result
    validate_quantity(target)
    _check_stock(sku, target)
    result[sku] = target
    return result


@transaction.atomic
def cart_item_remove(*, user_id: int, sku: str) -> None:
    deleted, _ = CartItem.objects.filter(cart__user_id=user_id, sku=sku).delete()
    if not deleted:
        raise NotFound(f"{sku} is not in the cart.", code="not_in_cart")


@transaction.atomic
def cart_clear(*, user_id: int) -> None:
    CartItem.objects.filter(cart__user_id=user_id).delete()


@transaction.atomic
def cart_merge_guest(*, user_id: int, items: dict[str, int]) -> dict[str, int]:
    """A guest signed in: add the session cart's lines to their cart (quantities capped, bad lines dropped)."""
    if not items:
        return cart_items_get(user_id=user_id)
    cart, _ = Cart.objects.get_or_create(user_id=user_id)
    known = catalog_selectors.skus_get(skus=list(items))
    current = {i.sku: i for i in CartItem.objects.select_for_update().filter(cart=cart)}
    for sku, quantity in items.items():
        if sku not in known or not isinstance(quantity, int) or quantity <= 0:
            continue
        existing = current.get(sku)
        target = min(settings.ORDER_MAX_LINE_QUANTITY, quantity + (existing.quantity if existing else 0))
        CartItem.objects.update_or_create(cart=cart, sku=sku, defaults={"quantity": target})
    return cart_items_get(user_id=user_id)


def cart_view(*, items: dict[str, int], user_id: int | None = None, coupon_code: str | None = None) -> CartView:
    """Live price and stock for each line (the catalog and inventory as they are now)."""
    skus = catalog_selectors.skus_get(skus=list(items))
    available = inventory_selectors.availability_get_many(skus=list(items))
    lines, priced = [], []
    for sku, quantity in items.items():
        snap = skus.get(sku)
        if snap is None:
            continue
        free = available.get(sku, 0)
        lines.append(
            CartLine(
                sku=sku,
                name=line_name(snap),
                product_slug=snap.product_slug,
                image_url=snap.image_url,
                quantity=quantity,
                unit_price=snap.price,
                line_total=snap.price * quantity,
                available=free,
                in_stock=free >= quantity,
                is_active=snap.is_active,
            )
        )
        priced.append((snap, quantity))
    subtotal = sum(line.line_total for line in lines)
    discount, applied = 0, None
    if priced:
        # Automatic discounts apply without a coupon; a bad coupon raises (404/409) for the caller.
        quote = discount_quote(user_id, priced, coupon_code)
        discount, applied = min(subtotal, quote.discount), quote.coupon_code
    currency = next((s.currency for s, _ in priced), "USD")
    return CartView(tuple(lines), subtotal, discount, subtotal - discount, currency, applied)
