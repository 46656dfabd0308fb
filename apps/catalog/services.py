"""Write entry points of the catalog context: keyword-only, typed, one transaction, events to the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.catalog.events import PriceChanged, ProductChanged, SkuCreated
from apps.catalog.models import Category, Product, Variant
from apps.catalog.selectors import category_tree_invalidate
from nexuscart.errors import Conflict, NotFound, Unprocessable
from nexuscart.outbox import publish

MAX_PRICE = 100_000_000  # $1,000,000.00: anything above is a typo, not a product


def _unique_slug(model: type, base: str) -> str:
    base = slugify(base)[:200] or "item"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def category_create(*, name: str, parent_id: int | None = None, slug: str = "", is_featured: bool = False) -> Category:
    fields = {"name": name, "slug": slug or _unique_slug(Category, name), "is_featured": is_featured}
    if parent_id is None:
        category = Category.objects.add_root(create_kwargs=fields)
    else:
        parent = Category.objects.filter(pk=parent_id).first()
        if parent is None:
            raise NotFound(f"No category {parent_id}.", code="category_not_found")
        category = Category.objects.add_child(parent, create_kwargs=fields)
    transaction.on_commit(category_tree_invalidate)
    return category


@dataclass(frozen=True)
class VariantInput:
    sku: str
    name: str
    price: int
    currency: str = "USD"
    attributes: dict | None = None


def _check_price(price: int) -> None:
    if not isinstance(price, int) or isinstance(price, bool) or not 0 <= price <= MAX_PRICE:
        raise Unprocessable(f"Price must be an integer between 0 and {MAX_PRICE} minor units.", code="invalid_price")


@transaction.atomic
def product_create(
    *,
    name: str,
    category_id: int,
    variants: Iterable[VariantInput] = (),
    description: str = "",
    images: list[dict] | None = None,
    attributes: dict | None = None,
    slug: str = "",
    is_active: bool = True,
    is_featured: bool = False,
) -> Product:
    if not Category.objects.filter(pk=category_id).exists():
        raise NotFound(f"No category {category_id}.", code="category_not_found")
    product = Product.objects.create(
        name=name,
        slug=slug or _unique_slug(Product, name),
        category_id=category_id,
        description=description,
        images=images or [],
        attributes=attributes or {},
        is_active=is_active,
        is_featured=is_featured,
    )
    for position, variant in enumerate(variants):
        _variant_add(product=product, data=variant, position=position)
    publish(ProductChanged(product_id=product.id, slug=product.slug))
    return product


def _variant_add(*, product: Product, data: VariantInput, position: int) -> Variant:
    _check_price(data.price)
    try:
        with transaction.atomic():
            variant = Variant.objects.create(
                product=product,
                sku=data.sku,
                name=data.name,
                price=data.price,
                currency=data.currency,
                attributes=data.attributes or {},
                position=position,
            )
    except IntegrityError as exc:
        raise Conflict(f"SKU {data.sku!r} already exists.", code="sku_exists") from exc
    publish(SkuCreated(sku=variant.sku, product_id=product.id))
    return variant


@transaction.atomic
def variant_create(*, product_id: int, data: VariantInput) -> Variant:
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"No product {product_id}.", code="product_not_found")
    variant = _variant_add(product=product, data=data, position=product.variants.count())
    publish(ProductChanged(product_id=product.id, slug=product.slug))
    return variant


_PRODUCT_FIELDS = {"name", "description", "images", "attributes", "category_id", "is_active", "is_featured", "slug"}


@transaction.atomic
def product_update(*, product_id: int, **changes: object) -> Product:
    unknown = set(changes) - _PRODUCT_FIELDS
    if unknown:
        raise Unprocessable(f"Cannot change {sorted(unknown)}.", code="unknown_fields")
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"No product {product_id}.", code="product_not_found")
    if "category_id" in changes and not Category.objects.filter(pk=changes["category_id"]).exists():
        raise NotFound(f"No category {changes['category_id']}.", code="category_not_found")
    for name, value in changes.items():
        setattr(product, name, value)
    product.save()
    publish(ProductChanged(product_id=product.id, slug=product.slug))
    return product


@transaction.atomic
def variant_update(
    *, sku: str, price: int | None = None, name: str | None = None, is_active: bool | None = None
) -> Variant:
    variant = Variant.objects.select_for_update().select_related("product").filter(sku=sku).first()
    if variant is None:
        raise NotFound(f"No SKU {sku!r}.", code="sku_not_found")
    old_price, old_name, old_active = variant.price, variant.name, variant.is_active
    if price is not None:
        _check_price(price)
        variant.price = price
    if name is not None:
        variant.name = name
    if is_active is not None:
        variant.is_active = is_active
    variant.save()
    if variant.price != old_price:
        publish(
            PriceChanged(
                sku=sku, product_id=variant.product_id, old_price=old_price, new_price=price, currency=variant.currency
            )
        )
    # A price alone is PriceChanged's (its handler re-misses what shows that price): ProductChanged
    # re-misses every listing and product page (the catalog-wide and structure versions).
    if (variant.name, variant.is_active) != (old_name, old_active):
        publish(ProductChanged(product_id=variant.product_id, slug=variant.product.slug))
    return variant


@transaction.atomic
def products_set_active(*, product_ids: Iterable[int], is_active: bool) -> int:
    """Bulk (de)activation from the admin: one event per product that actually changed."""
    rows = list(
        Product.objects.select_for_update()
        .filter(pk__in=list(product_ids))
        .exclude(is_active=is_active)
        .order_by("pk")
        .values_list("pk", "slug")
    )
    Product.objects.filter(pk__in=[pk for pk, _ in rows]).update(is_active=is_active)
    for pk, slug in rows:
        publish(ProductChanged(product_id=pk, slug=slug))
    return len(rows)


@transaction.atomic
def products_move(*, product_ids: Iterable[int], category_id: int) -> int:
    if not Category.objects.filter(pk=category_id).exists():
        raise NotFound(f"No category {category_id}.", code="category_not_found")
    rows = list(
        Product.objects.select_for_update()
        .filter(pk__in=list(product_ids))
        .exclude(category_id=category_id)
        .order_by("pk")
        .values_list("pk", "slug")
    )
    Product.objects.filter(pk__in=[pk for pk, _ in rows]).update(category_id=category_id)
    for pk, slug in rows:
        publish(ProductChanged(product_id=pk, slug=slug))
    return len(rows)


def variant_price_announce(*, variant: Variant, old_price: int) -> None:
    """For price edits made in the admin's inline: the same PriceChanged the services publish."""
    if variant.price != old_price:
        publish(
            PriceChanged(
                sku=variant.sku,
                product_id=variant.product_id,
                old_price=old_price,
                new_price=variant.price,
                currency=variant.currency,
            )
        )


def category_products_announce(*, category_id: int) -> int:
    """A category was renamed or moved: every product below it shows a new category path."""
    path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first()
    if path is None:
        return 0
    rows = list(Product.objects.filter(category__path__startswith=path).order_by("pk").values_list("pk", "slug"))
    for pk, slug in rows:
        publish(ProductChanged(product_id=pk, slug=slug))
    transaction.on_commit(category_tree_invalidate)
    return len(rows)


def product_changed_announce(*, product: Product) -> None:
    """For writes made outside these services (admin forms): tell the index, in the same transaction."""
    publish(ProductChanged(product_id=product.id, slug=product.slug))
