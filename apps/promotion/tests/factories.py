"""Test data for the promotion context: shoppers, a SKU with stock, campaigns, coupons."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from apps.catalog import services as catalog_services
from apps.inventory import services as inventory_services
from apps.promotion import services
from apps.promotion.models import Coupon, DiscountCampaign
from tests.factories import UserFactory  # noqa: F401  (the promotion tests import it from here)


def make_users(count: int) -> list:
    """Many shoppers fast (no password hashing): for the concurrency tests."""
    user_model = get_user_model()
    run = uuid.uuid4().hex[:8]
    user_model.objects.bulk_create([user_model(email=f"fs{run}-{i}@example.com") for i in range(count)])
    return list(user_model.objects.filter(email__startswith=f"fs{run}-").order_by("id"))


def access_token(user) -> str:
    return str(AccessToken.for_user(user))


def make_sku(*, stock: int = 1000, price: int = 4999, category_id: int | None = None) -> tuple[str, int]:
    """(sku, category id) of an active product variant with `stock` units on hand."""
    tag = uuid.uuid4().hex[:8].upper()
    if category_id is None:
        category_id = catalog_services.category_create(name=f"Flash {tag}").pk
    sku = f"FS-{tag}"
    catalog_services.product_create(
        name=f"Gadget {tag}",
        category_id=category_id,
        variants=[catalog_services.VariantInput(sku=sku, name="Standard", price=price)],
    )
    inventory_services.stock_bulk_set(levels={sku: stock}, reason="test stock")
    return sku, category_id


def make_campaign(
    *,
    quantity: int = 10,
    per_user_limit: int = 2,
    price: int = 999,
    starts_in: timedelta = timedelta(seconds=-1),
    lasts: timedelta = timedelta(minutes=10),
    warm: bool = True,
    sku: str | None = None,
):
    sku = sku or make_sku(stock=quantity + 10)[0]
    starts_at = timezone.now() + starts_in
    campaign = services.flash_sale_campaign_create(
        sku=sku,
        price=price,
        quantity=quantity,
        starts_at=starts_at,
        ends_at=starts_at + lasts,
        per_user_limit=per_user_limit,
        actor="test",
    )
    if warm:
        campaign = services.flash_sale_campaign_warmup(campaign_id=campaign.id)
    return campaign


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.LazyFunction(lambda: f"SAVE-{uuid.uuid4().hex[:8].upper()}")
    kind = "percent"
    value = 10


class DiscountCampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiscountCampaign

    name = "10% off gadgets"
    kind = "percent"
    value = 10
