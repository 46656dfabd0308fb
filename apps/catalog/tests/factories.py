"""factory_boy factories for the catalog; products and variants are made through the services."""

from __future__ import annotations

import factory

from apps.catalog import services
from apps.catalog.models import Category, Product


class CategoryFactory(factory.Factory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None
    is_featured = False

    @classmethod
    def _create(cls, model_class, parent=None, **kwargs):
        return services.category_create(parent_id=parent.id if parent else None, **kwargs)


class ProductFactory(factory.Factory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    description = "A plain product."
    attributes = factory.LazyFunction(dict)
    images = factory.LazyAttribute(lambda o: [{"url": "/static/catalog/img/clothing.svg", "alt": f"{o.name} photo"}])
    variants = factory.LazyAttribute(
        lambda o: [services.VariantInput(sku=f"SKU-{o.name.upper().replace(' ', '-')}-1", name="Standard", price=1000)]
    )
    is_featured = False

    @classmethod
    def _create(cls, model_class, category=None, variants=(), **kwargs):
        return services.product_create(category_id=category.id, variants=variants, **kwargs)


def variant(sku: str, price: int, name: str = "", **attributes: str) -> services.VariantInput:
    return services.VariantInput(
        sku=sku, name=name or " / ".join(attributes.values()) or sku, price=price, attributes=attributes
    )
