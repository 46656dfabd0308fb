"""Events the inventory context publishes (frozen dataclasses, versioned; see nexuscart.events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nexuscart.events import DomainEvent


@dataclass(frozen=True)
class StockLevelChanged(DomainEvent):
    event_type: ClassVar[str] = "inventory.StockLevelChanged"
    aggregate_type: ClassVar[str] = "inventory"
    sku: str
    available: int
    on_hand: int
    reserved: int
    kind: str = ""
    reference: str = ""

    def aggregate_id(self) -> str:
        return self.sku


@dataclass(frozen=True)
class LowStock(DomainEvent):
    event_type: ClassVar[str] = "inventory.LowStock"
    aggregate_type: ClassVar[str] = "inventory"
    sku: str
    available: int
    threshold: int

    def aggregate_id(self) -> str:
        return self.sku
