"""The search index follows the catalog through events: outbox -> Kafka -> consumer -> index."""

from __future__ import annotations

import threading
import time

import pytest

from apps.catalog import indexing, services
from apps.catalog.models import ProductSearchEntry
from apps.catalog.tests.factories import ProductFactory, variant
from nexuscart.consumers import EventConsumer, apply_event
from nexuscart.models import OutboxEvent
from nexuscart.relay import relay_until_empty
from tests.factories import envelope_from_row as _envelope


def _search(client, **params) -> dict:
    indexing.search_refresh()
    response = client.get("/api/v1/search", params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_changes_reach_the_index_through_relay_and_consumer(client, shop, reindex, unique):
    from apps.inventory import services as inventory_services

    reindex()
    relay_until_empty()
    EventConsumer("catalog", consumer_overrides={"group.id": unique("catalog")}).run(idle_timeout=3)
    product = ProductFactory(
        name="Copperline Espresso Grinder",
        category=shop["categories"]["electronics"],
        variants=[variant("GR-1", 12900)],
    )
    services.variant_update(sku="HP-BLACK", price=9900)
    services.products_set_active(product_ids=[shop["products"]["speaker"].id], is_active=False)
    inventory_services.stock_bulk_set(levels={"FL-M-RED": 4}, reason="restock")
    assert _search(client, q="espresso grinder")["total"] == 0

    relay_until_empty()
    EventConsumer("catalog", consumer_overrides={"group.id": unique("catalog")}).run(idle_timeout=5)

    found = _search(client, q="espresso grinder")["results"]
    assert [(r["id"], r["price_min"]) for r in found] == [(product.id, 12900)]
    assert _search(client, q="wireless headphones")["results"][0]["price_min"] == 9900
    assert _search(client, q="bluetooth speaker")["total"] == 0
    assert _search(client, q="flannel")["results"][0]["in_stock"] is True


@pytest.mark.django_db
def test_a_stale_or_repeated_event_never_rolls_the_index_back(
    client, shop, reindex, django_capture_on_commit_callbacks
):
    reindex()
    services.variant_update(sku="SPK-TEAL", price=8900)
    services.variant_update(sku="SPK-TEAL", price=9900)
    first, second = OutboxEvent.objects.filter(event_type="catalog.PriceChanged").order_by("sequence")
    with django_capture_on_commit_callbacks(execute=True):  # the index is written after the commit
        assert apply_event("catalog", _envelope(second))
    # The older event arrives late (and then again): the handler re-reads the database.
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_event("catalog", _envelope(first))
    with django_capture_on_commit_callbacks(execute=True):
        assert not apply_event("catalog", _envelope(first))
    assert _search(client, q="speaker")["results"][0]["price_min"] == 9900
    assert ProductSearchEntry.objects.get(pk=shop["products"]["speaker"].id).price_min == 9900


@pytest.mark.django_db
def test_a_redelivered_event_with_nothing_new_skips_the_index_write(shop, reindex):
    reindex()
    product_id = shop["products"]["tee"].id
    assert indexing.products_sync(product_ids=[product_id]) == indexing.SyncResult(entries=1, indexed=0)
    services.variant_update(sku="TEE-M-GREY", price=1700)
    assert indexing.products_sync(product_ids=[product_id]) == indexing.SyncResult(entries=1, indexed=1)
    assert indexing.products_sync(product_ids=[product_id]) == indexing.SyncResult(entries=1, indexed=0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rebuild_swaps_the_alias_while_searches_keep_answering(client, shop, reindex, settings):
    from opensearchpy.connection.connections import connections

    reindex()
    first_index = list(connections.get_connection().indices.get_alias(name=indexing.read_alias()))
    errors: list[str] = []
    totals: list[int] = []
    stop = threading.Event()

    def search_forever() -> None:
        from django.db import connection

        from apps.catalog.search import OpenSearchBackend, SearchParams
        from apps.catalog.selectors import category_tree_get

        tree = category_tree_get()
        try:
            while not stop.is_set():
                try:
                    totals.append(OpenSearchBackend().search(params=SearchParams(q="shirt"), tree=tree).total)
                except Exception as exc:
                    errors.append(repr(exc))
        finally:
            connection.close()

    searcher = threading.Thread(target=search_forever)
    searcher.start()
    try:
        time.sleep(0.2)
        results = [indexing.search_index_rebuild() for _ in range(3)]
        time.sleep(0.2)
    finally:
        stop.set()
        searcher.join(10)
    assert errors == []
    assert len(totals) > 20
    assert set(totals) == {2}
    live = list(connections.get_connection().indices.get_alias(name=indexing.read_alias()))
    assert live == [results[-1].index]
    assert results[0].removed == first_index
    assert sorted(connections.get_connection().indices.get(index=indexing.index_pattern())) == live


@pytest.mark.django_db
def test_updates_made_during_a_rebuild_are_not_lost(client, shop, reindex, django_capture_on_commit_callbacks):
    from opensearchpy.connection.connections import connections

    reindex()
    building = indexing.search_index_create(live=False)
    # A handler runs while the new index is being built: it must reach both indices...
    services.variant_update(sku="TEE-M-GREY", price=2222)
    with django_capture_on_commit_callbacks(execute=True):
        indexing.products_sync(product_ids=[shop["products"]["tee"].id])
    os = connections.get_connection()
    assert os.get(index=building, id=shop["products"]["tee"].id)["_source"]["price_min"] == 2222
    # ...and the bulk load, which read the database earlier, must not overwrite it.
    services.variant_update(sku="TEE-M-GREY", price=1500)
    entry = indexing._build_entries(
        indexing._products([shop["products"]["tee"].id], lock=False), indexing._Categories()
    )
    services.variant_update(sku="TEE-M-GREY", price=3333)
    with django_capture_on_commit_callbacks(execute=True):
        indexing.products_sync(product_ids=[shop["products"]["tee"].id])
    indexing._index(entry, op="create", indices=[building])
    assert os.get(index=building, id=shop["products"]["tee"].id)["_source"]["price_min"] == 3333


def _document(product_id: int) -> dict:
    from opensearchpy.connection.connections import connections

    return connections.get_connection().get(index=indexing.read_alias(), id=product_id)["_source"]


@pytest.mark.django_db
def test_the_index_is_written_after_the_consumers_commit_never_inside_it(
    shop, reindex, django_capture_on_commit_callbacks
):
    reindex()
    tee = shop["products"]["tee"].id
    services.variant_update(sku="TEE-M-GREY", price=2468)
    row = OutboxEvent.objects.filter(event_type="catalog.PriceChanged").latest("id")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert apply_event("catalog", _envelope(row))
        # Inside the consumer's transaction: the read model is written, the index not yet.
        assert ProductSearchEntry.objects.get(pk=tee).price_min == 2468
        assert _document(tee)["price_min"] == 1500
        entry = ProductSearchEntry.objects.get(pk=tee)
        assert entry.revision > entry.indexed_revision  # pending
    assert callbacks
    assert _document(tee)["price_min"] == 2468
    entry = ProductSearchEntry.objects.get(pk=tee)
    assert entry.indexed_revision == entry.revision


@pytest.mark.django_db
def test_an_index_write_that_fails_after_the_commit_is_swept_later_not_lost(
    client, shop, reindex, django_capture_on_commit_callbacks
):
    from opensearchpy import OpenSearch
    from opensearchpy.connection.connections import connections

    from apps.catalog import tasks

    reindex()
    tee = shop["products"]["tee"].id
    assert _search(client, q="pocket tee")["results"][0]["price_min"] == 1500  # cached now
    services.variant_update(sku="TEE-M-GREY", price=1357)
    row = OutboxEvent.objects.filter(event_type="catalog.PriceChanged").latest("id")
    live = connections.get_connection()
    # The search server stops answering between the consumer's commit and the index write.
    connections.add_connection("default", OpenSearch(["http://127.0.0.1:9"], max_retries=0, timeout=1))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert apply_event("catalog", _envelope(row))
    finally:
        connections.add_connection("default", live)
    assert _document(tee)["price_min"] == 1500
    # The event is recorded: a redelivery is a duplicate and writes nothing...
    with django_capture_on_commit_callbacks(execute=True):
        assert not apply_event("catalog", _envelope(row))
    assert _document(tee)["price_min"] == 1500
    # ...the row stays pending, and the sweep writes it (and makes cached searches stale).
    assert tasks.search_index_sweep() == 1
    assert _document(tee)["price_min"] == 1357
    assert _search(client, q="pocket tee")["results"][0]["price_min"] == 1357
    assert tasks.search_index_sweep() == 0
