"""What a search asks and answers: parameters, product cards, facets, results (shared by both back ends)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

SORTS = ("relevance", "price", "-price", "newest")
# Price facet buckets in minor units: [from, to).
PRICE_BUCKETS: tuple[tuple[int | None, int | None], ...] = (
    (None, 2500),
    (2500, 5000),
    (5000, 10000),
    (10000, 25000),
    (25000, None),
)
MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000
ATTRIBUTE_FACET_SIZE = 200


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    category_id: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None
    # ("Colour", "Red") pairs: values of one attribute are OR-ed, attributes are AND-ed.
    attributes: tuple[tuple[str, str], ...] = ()
    sort: str = "relevance"
    page: int = 1
    page_size: int = 24

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def filter_kwargs(self) -> dict:
        """The listing filters (apps/catalog/search/filters.py) this search applies."""
        return {
            "category_id": self.category_id,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "in_stock": self.in_stock,
            "attribute_groups": list(self.attribute_groups().values()),
        }

    def attribute_groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for name, value in self.attributes:
            groups[name].append(f"{name}:{value}")
        return groups


@dataclass(frozen=True)
class ProductCard:
    """A product as listings and search results show it (from the read model or the index)."""

    id: int
    slug: str
    name: str
    category_id: int
    category_path: str
    price_min: int | None
    price_max: int | None
    currency: str
    in_stock: bool
    image_url: str
    image_alt: str
    created_at: datetime | str
    score: float | None = None

    @property
    def url(self) -> str:
        return f"/p/{self.slug}/"


# The read-model columns a card is built from (ProductSearchEntry.values()).
CARD_FIELDS = (
    "product_id",
    "product__slug",
    "name",
    "category_id",
    "category_path",
    "price_min",
    "price_max",
    "currency",
    "in_stock",
    "image_url",
    "image_alt",
    "created_at",
)


def card_from_row(row: dict, *, score: float | None = None) -> ProductCard:
    return ProductCard(
        id=row["product_id"],
        slug=row["product__slug"],
        name=row["name"],
        category_id=row["category_id"],
        category_path=row["category_path"],
        price_min=row["price_min"],
        price_max=row["price_max"],
        currency=row["currency"],
        in_stock=row["in_stock"],
        image_url=row["image_url"],
        image_alt=row["image_alt"],
        created_at=row["created_at"],
        score=score,
    )


@dataclass(frozen=True)
class CategoryFacet:
    id: int
    name: str
    slug: str
    count: int


@dataclass(frozen=True)
class PriceFacet:
    key: str
    label: str
    min: int | None
    max: int | None
    count: int


@dataclass(frozen=True)
class AttributeFacet:
    name: str
    values: list[tuple[str, int]]


@dataclass(frozen=True)
class SearchResult:
    results: list[ProductCard]
    total: int
    page: int
    page_size: int
    category_facets: list[CategoryFacet] = field(default_factory=list)
    price_facets: list[PriceFacet] = field(default_factory=list)
    attribute_facets: list[AttributeFacet] = field(default_factory=list)
    backend: str = ""

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_RESULT_WINDOW) // self.page_size))
