"""seed_demo (small N: the 10,000-product timing lives in scripts/bench/search) and the admin."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.catalog import indexing
from apps.catalog.models import Category, Product, ProductSearchEntry, Variant
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_deterministic_stocked_and_searchable_catalog(client, capsys, reindex):
    from apps.inventory import selectors as inventory_selectors

    call_command("seed_demo", "--products", "60")
    assert "60 products" in capsys.readouterr().out
    assert Category.objects.filter(depth=3).count() > 20
    assert Product.objects.count() == ProductSearchEntry.objects.count() == 60
    skus = list(Variant.objects.values_list("sku", flat=True))
    assert len(skus) >= 60
    stock = inventory_selectors.availability_get_many(skus=skus)
    assert set(stock) == set(skus)
    assert any(v == 0 for v in stock.values())
    assert any(v > 0 for v in stock.values())
    first = list(Product.objects.order_by("id").values_list("name", "slug", "category__slug", "attributes"))
    first_prices = list(Variant.objects.order_by("id").values_list("price", flat=True))
    indexing.search_refresh()
    body = client.get("/api/v1/search", {"q": first[0][0]}).json()
    assert first[0][1] in {r["slug"] for r in body["results"]}

    call_command("seed_demo", "--products", "60")
    assert "nothing to do" in capsys.readouterr().out
    assert Product.objects.count() == 60

    OutboxEvent.objects.all().delete()
    Variant.objects.all().delete()
    Product.objects.all().delete()
    Category.objects.all().delete()
    call_command("seed_demo", "--products", "60", "--no-stock")
    again = list(Product.objects.order_by("id").values_list("name", "slug", "category__slug", "attributes"))
    assert again == first
    assert list(Variant.objects.order_by("id").values_list("price", flat=True)) == first_prices


def test_search_index_command_rebuilds_and_swaps(shop, capsys):
    call_command("search_index", "--rebuild")
    out = capsys.readouterr().out
    assert "5 products" in out
    assert "alias swapped" in out


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(email="staff@example.com", password="pw-123456789")
    client.force_login(admin)
    return client


def test_admin_lists_searches_and_shows_the_category_tree(staff_client, shop):
    assert "Northwind Oxford Shirt" in staff_client.get("/admin/catalog/product/?q=OX-M-WHITE").content.decode()
    tree = staff_client.get("/admin/catalog/category/").content.decode()
    assert "Clothing" in tree
    assert "Electronics" in tree
    # Deeper levels load on expand (treebeard's children view).
    men = staff_client.get(f"/admin/catalog/category/children/{shop['categories']['men'].id}/")
    assert "Shirts" in men.content.decode()
    edit = staff_client.get(f"/admin/catalog/product/{shop['products']['oxford'].id}/change/").content.decode()
    assert "OX-M-WHITE" in edit


def test_admin_bulk_actions_publish_changes(staff_client, shop):
    ids = [shop["products"]["tee"].id, shop["products"]["flannel"].id]
    before = OutboxEvent.objects.filter(event_type="catalog.ProductChanged").count()
    staff_client.post("/admin/catalog/product/", {"action": "deactivate", "_selected_action": ids})
    assert set(Product.objects.filter(pk__in=ids).values_list("is_active", flat=True)) == {False}
    staff_client.post("/admin/catalog/product/", {"action": "activate", "_selected_action": ids})
    assert set(Product.objects.filter(pk__in=ids).values_list("is_active", flat=True)) == {True}
    assert OutboxEvent.objects.filter(event_type="catalog.ProductChanged").count() == before + 4


def test_admin_moves_products_through_an_intermediate_page(staff_client, shop):
    ids = [shop["products"]["tee"].id]
    audio = shop["categories"]["audio"]
    page = staff_client.post("/admin/catalog/product/", {"action": "change_category", "_selected_action": ids})
    assert page.status_code == 200
    assert "Move these 1 product(s)" in page.content.decode()
    assert Product.objects.get(pk=ids[0]).category_id == shop["categories"]["men"].id
    done = staff_client.post(
        "/admin/catalog/product/",
        {"action": "change_category", "_selected_action": ids, "apply": "1", "category": audio.id},
    )
    assert done.status_code == 302
    assert Product.objects.get(pk=ids[0]).category_id == audio.id


def test_admin_inline_price_edit_publishes_price_changed(staff_client, shop):
    from apps.catalog.models import Variant

    product = shop["products"]["tee"]
    tee = Variant.objects.get(sku="TEE-M-GREY")
    form = {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "images": '[{"url": "/static/catalog/img/clothing.svg", "alt": "tee"}]',
        "attributes": '{"Material": "Cotton"}',
        "category": product.category_id,
        "is_active": "on",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": tee.id,
        "variants-0-product": product.id,
        "variants-0-sku": "TEE-M-GREY",
        "variants-0-name": tee.name,
        "variants-0-price": "18.99",  # staff type dollars; the model keeps cents
        "variants-0-currency": "USD",
        "variants-0-attributes": '{"Size": "M", "Colour": "Grey"}',
        "variants-0-is_active": "on",
        "variants-0-position": "0",
    }
    response = staff_client.post(f"/admin/catalog/product/{product.id}/change/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    event = OutboxEvent.objects.filter(event_type="catalog.PriceChanged").get()
    assert event.payload == {
        "sku": "TEE-M-GREY",
        "product_id": product.id,
        "old_price": 1500,
        "new_price": 1899,
        "currency": "USD",
    }
    assert OutboxEvent.objects.filter(event_type="catalog.ProductChanged", aggregate_id=str(product.id)).count() == 2


def _product_form(product, **changes) -> dict:
    """The admin change form of a one-variant product as the page holds it, with `changes`."""
    import json

    (v,) = product.variants.all()
    form = {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "images": json.dumps(product.images),
        "attributes": json.dumps(product.attributes),
        "category": product.category_id,
        "is_active": "on",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": v.id,
        "variants-0-product": product.id,
        "variants-0-sku": v.sku,
        "variants-0-name": v.name,
        "variants-0-price": f"{v.price / 100:.2f}",
        "variants-0-currency": v.currency,
        "variants-0-attributes": json.dumps(v.attributes),
        "variants-0-is_active": "on",
        "variants-0-position": str(v.position),
    }
    # JSON fields with a callable default carry their initial value in a hidden input (Django's
    # show_hidden_initial), which the browser posts back unchanged.
    for name in ("images", "attributes", "variants-0-attributes"):
        form[f"initial-{name}"] = form[name]
    return {**form, **changes}


def test_a_staff_price_edit_alone_is_announced_as_a_price_change_only(staff_client, shop):
    """ProductChanged re-misses every cached listing and product page (the catalog-wide and structure
    versions): a price edit publishes PriceChanged only, which re-misses what shows that price."""
    product = shop["products"]["tee"]
    url = f"/admin/catalog/product/{product.id}/change/"
    last = OutboxEvent.objects.latest("id").id
    response = staff_client.post(url, _product_form(product, **{"variants-0-price": "17.49"}))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Variant.objects.get(sku="TEE-M-GREY").price == 1749
    assert list(OutboxEvent.objects.filter(id__gt=last).values_list("event_type", flat=True)) == [
        "catalog.PriceChanged"
    ]
    last = OutboxEvent.objects.latest("id").id
    product.refresh_from_db()
    response = staff_client.post(
        url, _product_form(product, **{"variants-0-name": "M Grey", "variants-0-price": "17.99"})
    )
    assert response.status_code == 302
    assert sorted(OutboxEvent.objects.filter(id__gt=last).values_list("event_type", flat=True)) == [
        "catalog.PriceChanged",
        "catalog.ProductChanged",
    ]


def test_renaming_a_category_in_the_admin_reindexes_the_products_below(staff_client, shop):
    men = shop["categories"]["men"]
    before = OutboxEvent.objects.filter(event_type="catalog.ProductChanged").count()
    response = staff_client.post(
        f"/admin/catalog/category/{men.id}/change/",
        {
            "name": "Menswear",
            "slug": "men",
            "description": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": shop["categories"]["clothing"].id,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    changed = OutboxEvent.objects.filter(event_type="catalog.ProductChanged").order_by("id")[before:]
    assert sorted(e.payload["slug"] for e in changed) == [
        "harbor-flannel-shirt",
        "northwind-oxford-shirt",
        "summit-pocket-tee",
    ]
