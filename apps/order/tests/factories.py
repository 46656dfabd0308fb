"""Test data built through the owning contexts' services (catalog, user, inventory), never their models."""

from __future__ import annotations

import uuid

from apps.catalog import services as catalog_services
from apps.inventory import services as inventory_services
from apps.user import services as user_services
from tests.factories import UserFactory

__all__ = ["UserFactory", "address_for", "sku_for_sale"]


def address_for(user_id: int) -> int:
    address = user_services.address_create(
        user_id=user_id, name="Ada Buyer", line1="1 Main St", city="Springfield", state="IL", postal_code="62701"
    )
    return address.id


def sku_for_sale(*, price: int = 1999, stock: int = 10, name: str = "Test Widget") -> str:
    """A catalog SKU with `stock` units in the MAIN warehouse."""
    sku = f"T-{uuid.uuid4().hex[:10].upper()}"
    category = catalog_services.category_create(name=f"Cat {uuid.uuid4().hex[:6]}")
    catalog_services.product_create(
        name=f"{name} {sku}",
        category_id=category.id,
        variants=[catalog_services.VariantInput(sku=sku, name="Blue", price=price)],
    )
    inventory_services.stock_bulk_set(levels={sku: stock}, reason="test stock")
    return sku
