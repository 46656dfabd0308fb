"""Events the catalog context publishes (frozen dataclasses, versioned; see nexuscart.events).

The aggregate is the product: every event of one product travels on one Kafka partition in
commit order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nexuscart.events import DomainEvent


@dataclass(frozen=True)
class ProductChanged(DomainEvent):
    """Anything shoppers see about a product changed (created, edited, (de)activated, moved)."""

    event_type: ClassVar[str] = "catalog.ProductChanged"
    aggregate_type: ClassVar[str] = "product"
    product_id: int
    slug: str

    def aggregate_id(self) -> str:
        return str(self.product_id)


@dataclass(frozen=True)
class PriceChanged(DomainEvent):
    event_type: ClassVar[str] = "catalog.PriceChanged"
    aggregate_type: ClassVar[str] = "product"
    sku: str
    product_id: int
    old_price: int
    new_price: int
    currency: str

    def aggregate_id(self) -> str:
        return str(self.product_id)


@dataclass(frozen=True)
class SkuCreated(DomainEvent):
    event_type: ClassVar[str] = "catalog.SkuCreated"
    aggregate_type: ClassVar[str] = "product"
    sku: str
    product_id: int

    def aggregate_id(self) -> str:
        return str(self.product_id)
