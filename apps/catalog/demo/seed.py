"""A believable, deterministic demo catalog: the same seed always gives the same shop.

Rows are written with bulk_create (10,000 products in seconds), the stock through inventory's
stock_bulk_set, and the search read model and index are built in bulk at the end instead of
waiting for one event per product.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.catalog import indexing
from apps.catalog.demo import images as demo_images
from apps.catalog.demo.data import ADJECTIVES, BRANDS, FEATURES, TREE, Leaf
from apps.catalog.models import Category, Product, Variant
from apps.catalog.selectors import category_tree_invalidate
from nexuscart.observability import progress

IMAGE_BASE = "/static/catalog/img"


@dataclass(frozen=True)
class SeedReport:
    categories: int
    products: int
    variants: int
    seconds: dict[str, float]


class AlreadySeeded(Exception):
    pass


def _categories() -> list[tuple[Category, Category, Leaf]]:
    leaves = []
    for root_name, groups in TREE.items():
        root = Category.objects.add_root(
            create_kwargs={"name": root_name, "slug": slugify(root_name), "is_featured": True}
        )
        for group_name, group_leaves in groups.items():
            group = Category.objects.add_child(
                root, create_kwargs={"name": group_name, "slug": slugify(f"{root_name} {group_name}")}
            )
            for leaf in group_leaves:
                node = Category.objects.add_child(group, create_kwargs={"name": leaf.name, "slug": slugify(leaf.name)})
                leaves.append((root, node, leaf))
    return leaves


def _price(rng: random.Random, low: int, high: int) -> int:
    # Shop prices end in .99 or .00, skewed towards the cheaper end of the range.
    dollars = int(low + (high - low) * rng.random() ** 1.6)
    return dollars * 100 + rng.choice((99, 99, 99, 0, 49))


def _description(rng: random.Random, name: str, leaf: Leaf, specs: dict) -> str:
    spec_lines = "\n".join(f"- **{k}:** {v}" for k, v in specs.items())
    first, second, third = rng.sample(FEATURES, k=3)
    return (
        f"The {name} is our take on the {leaf.nouns[0].lower()}: *{first.lower().rstrip('.')}*.\n\n"
        f"{second} {third}\n\n{spec_lines}"
    )


def demo_catalog_seed(*, products: int, seed: int = 42, stock: bool = True, index: bool = True) -> SeedReport:
    if Product.objects.exists():
        raise AlreadySeeded(f"the catalog already has {Product.objects.count()} products")
    rng = random.Random(seed)
    timings: dict[str, float] = progress.StepTimes()  # each step also printed by a reporting command
    started = time.monotonic()
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        leaves = _categories()
        rows: list[Product] = []
        plans: list[list[tuple[str, int, dict]]] = []
        used: set[str] = set()
        for i in range(products):
            root, node, leaf = leaves[rng.randrange(len(leaves))]
            noun = rng.choice(leaf.nouns)
            name = f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {noun}"
            slug = base = slugify(name)
            n = 2
            while slug in used:
                slug, n = f"{base}-{n}", n + 1
            used.add(slug)
            specs = {k: rng.choice(v) for k, v in leaf.specs.items()}
            rows.append(
                Product(
                    name=name,
                    slug=slug,
                    category_id=node.id,
                    description=_description(rng, name, leaf, specs),
                    images=[{"url": f"{IMAGE_BASE}/{root.slug}.svg", "alt": f"{name}, product photo"}],
                    attributes={"Brand": name.split(" ")[0] if not name.startswith("Alder") else "Alder & Co", **specs},
                    is_featured=rng.random() < 0.01 or i < 8,
                    created_at=now - timedelta(minutes=rng.randrange(60 * 24 * 365)),
                )
            )
            base_price = _price(rng, *leaf.price)
            axes = list(leaf.options.items())[:2]
            picked = [(axis, rng.sample(values, k=min(len(values), rng.randint(1, 3)))) for axis, values in axes]
            combos: list[dict] = [{}]
            for axis, values in picked:
                combos = [{**c, axis: v} for c in combos for v in values]
            plans.append(
                [
                    (" / ".join(c.values()) or "Standard", base_price + step * rng.choice((0, 0, 500, 1000)), c)
                    for step, c in enumerate(combos[:6])
                ]
            )
            # A picture of this kind of product in each of its colours (demo/images.py draws them).
            colours = list(dict.fromkeys(c.get("Colour", "") for c in combos[:6])) or [""]
            rows[-1].images = [
                {
                    "url": demo_images.image_url(kind=demo_images.kind_for(leaf.name), colour=col or noun, n=i),
                    "alt": f"{name}{f' in {col.lower()}' if col else ''}, product photo",
                }
                for col in colours[:3]
            ]
        Product.objects.bulk_create(rows, batch_size=2000)
        timings["products"] = time.monotonic() - started
        # Drawn now: the featured products' photos and one of each kind (the rest on first view, cached).
        first_of_kind = {img["url"].split("/")[2]: img["url"] for p in rows for img in p.images[:1]}
        demo_images.warm({p.images[0]["url"] for p in rows if p.is_featured} | set(first_of_kind.values()))
        timings["images"] = time.monotonic() - started
        variants = [
            Variant(
                product_id=product.id,
                sku=f"NC-{product.id:06d}-{position + 1:02d}",
                name=variant_name,
                price=price,
                attributes=attributes,
                position=position,
            )
            for product, plan in zip(rows, plans, strict=True)
            for position, (variant_name, price, attributes) in enumerate(plan)
        ]
        Variant.objects.bulk_create(variants, batch_size=5000)
        timings["variants"] = time.monotonic() - started
        if stock:
            from apps.inventory import services as inventory_services

            levels = {v.sku: 0 if rng.random() < 0.12 else rng.randint(1, 150) for v in variants}
            inventory_services.stock_bulk_set(levels=levels, reason="demo seed")
            timings["stock"] = time.monotonic() - started
        if not (index and indexing.search_enabled()):
            indexing.search_read_model_rebuild(product_ids=[p.id for p in rows])
            timings["read_model"] = time.monotonic() - started
    category_tree_invalidate()
    if index and indexing.search_enabled():
        # The rebuild writes the read model too, batch by batch, beside the new index.
        indexing.search_index_rebuild()
        timings["read_model+search_index"] = time.monotonic() - started
    return SeedReport(categories=Category.objects.count(), products=len(rows), variants=len(variants), seconds=timings)
