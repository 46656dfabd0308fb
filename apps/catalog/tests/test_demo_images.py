"""Issue 15 feature: demo products get photos of their own kind (a boot for boots, not a T-shirt), in their
colours, drawn with Pillow; the seed draws the featured ones at once and the view serves them."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from PIL import Image

from apps.catalog.models import Product

pytestmark = pytest.mark.django_db


def test_seeded_products_show_pictures_of_their_own_kind(client, settings):
    settings.SEARCH_URL = ""
    call_command("seed_demo", "--products", "80", "--no-stock")
    boots = [p for p in Product.objects.select_related("category") if p.category.name == "Boots"]
    tees = [p for p in Product.objects.select_related("category") if p.category.name == "Men's T-Shirts"]
    assert boots
    assert tees
    assert all(img["url"].startswith("/demo-images/boot/") for p in boots for img in p.images)
    assert all(img["url"].startswith("/demo-images/tee/") for p in tees for img in p.images)
    product = boots[0]
    colours = {v.attributes.get("Colour", "").lower() for v in product.variants.all()}
    assert {img["url"].split("/")[3].rsplit("-", 1)[0] for img in product.images} <= colours
    response = client.get(product.images[0]["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "immutable" in response["Cache-Control"]
    assert Image.open(io.BytesIO(response.content)).size == (800, 600)
    assert client.get("/demo-images/spaceship/red-0.jpg").status_code == 404
