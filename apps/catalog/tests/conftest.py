"""Catalog test fixtures: own OpenSearch indices per test, and both search back ends."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import override_settings

from apps.catalog import indexing, readcache
from apps.catalog.models import Category, Product
from apps.catalog.selectors import category_tree_invalidate
from apps.catalog.tests.factories import CategoryFactory, ProductFactory, variant

_SESSION_PREFIX = f"test-catalog-{uuid.uuid4().hex[:8]}"
_counter = itertools.count()


@pytest.fixture(autouse=True)
def _search_isolation(settings) -> Iterator[None]:
    """Every test gets its own index prefix (so its own aliases) and a cold category-tree cache."""
    settings.SEARCH_INDEX_PREFIX = f"{_SESSION_PREFIX}-{next(_counter)}"
    cache.clear()  # this worker's own Redis database: cached fragments of another test must not show
    readcache.clear_local()
    yield
    category_tree_invalidate()
    if settings.SEARCH_URL:
        indexing.search_indices_drop()


@pytest.fixture(scope="session", autouse=True)
def _drop_session_indices() -> Iterator[None]:
    yield
    url = django_settings.SEARCH_URL
    if url:
        with override_settings(SEARCH_INDEX_PREFIX=f"{_SESSION_PREFIX}-*"):
            indexing.search_indices_drop()


@pytest.fixture(params=["opensearch", "postgres"])
def search_backend(request, settings) -> str:
    """Runs the test once against OpenSearch and once against PostgreSQL full-text search."""
    if request.param == "postgres":
        settings.SEARCH_URL = ""
    return request.param


@pytest.fixture
def reindex(settings) -> Callable[[], None]:
    """Build the read model (and the OpenSearch index, when enabled) from the database, refreshed."""

    def run() -> None:
        if settings.SEARCH_URL:
            indexing.search_index_rebuild()
            indexing.search_refresh()
        else:
            indexing.search_read_model_rebuild()

    return run


@pytest.fixture
def shop(db) -> dict:
    """A small tree and a handful of products with variants, attributes and stock."""
    from apps.inventory import services as inventory_services

    clothing = CategoryFactory(name="Clothing", is_featured=True)
    men = CategoryFactory(name="Men", parent=clothing)
    shirts = CategoryFactory(name="Shirts", parent=men)
    electronics = CategoryFactory(name="Electronics", is_featured=True)
    audio = CategoryFactory(name="Audio", parent=electronics)
    products = {
        "oxford": ProductFactory(
            name="Northwind Oxford Shirt",
            category=shirts,
            description="A crisp button-down in breathable **organic cotton**.",
            attributes={"Material": "Organic cotton", "Fit": "Slim"},
            variants=[
                variant("OX-S-BLUE", 4999, Size="S", Colour="Blue"),
                variant("OX-M-BLUE", 4999, Size="M", Colour="Blue"),
                variant("OX-M-WHITE", 5499, Size="M", Colour="White"),
            ],
            is_featured=True,
        ),
        "flannel": ProductFactory(
            name="Harbor Flannel Shirt",
            category=shirts,
            description="Brushed flannel for cold mornings.",
            attributes={"Material": "Cotton flannel", "Fit": "Regular"},
            variants=[
                variant("FL-M-RED", 3999, Size="M", Colour="Red"),
                variant("FL-L-RED", 3999, Size="L", Colour="Red"),
            ],
        ),
        "tee": ProductFactory(
            name="Summit Pocket Tee",
            category=men,
            description="Everyday tee with a chest pocket.",
            attributes={"Material": "Cotton"},
            variants=[variant("TEE-M-GREY", 1500, Size="M", Colour="Grey")],
        ),
        "headphones": ProductFactory(
            name="Lumen Wireless Headphones",
            category=audio,
            description="Noise cancelling, forty hours of battery.",
            attributes={"Connectivity": "Bluetooth 5.3"},
            variants=[variant("HP-BLACK", 19900, Colour="Black"), variant("HP-SILVER", 21900, Colour="Silver")],
            is_featured=True,
        ),
        "speaker": ProductFactory(
            name="Tidewater Bluetooth Speaker",
            category=audio,
            description="Waterproof speaker for the beach.",
            attributes={"Waterproof": "IPX7"},
            variants=[variant("SPK-TEAL", 7900, Colour="Teal")],
        ),
    }
    inventory_services.stock_bulk_set(
        levels={
            "OX-S-BLUE": 5,
            "OX-M-BLUE": 0,
            "OX-M-WHITE": 3,
            "FL-M-RED": 0,
            "FL-L-RED": 0,
            "TEE-M-GREY": 12,
            "HP-BLACK": 7,
            "HP-SILVER": 0,
            "SPK-TEAL": 2,
        },
        reason="test",
    )
    return {
        "categories": {"clothing": clothing, "men": men, "shirts": shirts, "electronics": electronics, "audio": audio},
        "products": products,
    }


def refetch(product: Product) -> Product:
    return Product.objects.get(pk=product.pk)


def category(name: str) -> Category:
    return Category.objects.get(name=name)
