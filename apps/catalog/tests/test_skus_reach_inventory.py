"""Inventory learns a new SKU from the catalog's SkuCreated event through the real path
(outbox -> relay -> Kafka -> the inventory consumer group), without importing the catalog."""

from __future__ import annotations

import pytest

from apps.catalog.tests.factories import ProductFactory, variant
from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from nexuscart.consumers import EventConsumer
from nexuscart.relay import relay_until_empty


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_new_sku_becomes_known_to_inventory_through_kafka(unique, redis_client):
    ProductFactory(name="Basalt Travel Mug", variants=[variant("MUG-BASALT", 2400)])
    assert not inventory_selectors.sku_is_known(sku="MUG-BASALT")
    relay_until_empty()
    EventConsumer("inventory", consumer_overrides={"group.id": unique("inventory")}).run(idle_timeout=5)
    assert inventory_selectors.sku_is_known(sku="MUG-BASALT")
    assert inventory_services.stock_adjust(sku="MUG-BASALT", delta=3, reason="first delivery", actor="staff") == 3
