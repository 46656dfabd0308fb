"""Warehouses: the places stock is kept (created on first use by the default-warehouse paths)."""

from __future__ import annotations

from apps.inventory.models import Warehouse


def warehouse_ensure(*, code: str, name: str | None = None, priority: int = 100) -> Warehouse:
    warehouse, _ = Warehouse.objects.get_or_create(code=code, defaults={"name": name or code, "priority": priority})
    return warehouse
