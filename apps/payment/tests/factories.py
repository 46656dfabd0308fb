"""Test data for payments, built through the owning contexts' services (never their models)."""

from __future__ import annotations

import random
import uuid

import factory
from django.contrib.auth.models import Group

from apps.catalog import services as catalog_services
from apps.inventory import services as inventory_services
from apps.order import services as order_services
from apps.user import services as user_services
from tests.factories import PASSWORD, UserFactory

__all__ = ["PASSWORD", "StaffFactory", "UserFactory", "awaiting_payment_order"]


class StaffFactory(UserFactory):
    email = factory.LazyFunction(lambda: f"staff-{uuid.uuid4().hex[:10]}@example.com")
    is_staff = True

    @factory.post_generation
    def roles(self, create: bool, extracted, **kwargs) -> None:
        # Payment staff are finance staff: refunds need its payment.add_refund (apps/user/roles.py).
        if create:
            for name in ("finance",) if extracted is None else extracted:
                self.groups.add(Group.objects.get(name=name))


def awaiting_payment_order(*, user_id: int, total: int = 2500, currency: str = "USD", with_address: bool = True):
    """An order in AWAITING_PAYMENT: a flash-sale order on a campaign that holds one real unit."""
    sku = f"PAY-{uuid.uuid4().hex[:10].upper()}"
    category = catalog_services.category_create(name=f"Pay {uuid.uuid4().hex[:6]}")
    catalog_services.product_create(
        name=f"Payable widget {sku}",
        category_id=category.id,
        variants=[catalog_services.VariantInput(sku=sku, name="Default", price=total)],
    )
    inventory_services.stock_bulk_set(levels={sku: 5}, reason="payment test stock")
    campaign_id = random.randint(10_000, 2_000_000_000)
    inventory_services.stock_allocate_for_campaign(sku=sku, quantity=2, campaign_id=campaign_id, actor="test")
    order = order_services.order_create_for_flash_sale(
        reservation_id=f"pay-{uuid.uuid4().hex[:24]}",  # reservation ids fit 32 characters
        campaign_id=campaign_id,
        user_id=user_id,
        sku=sku,
        quantity=1,
        unit_price=total,
        currency=currency,
    )
    if with_address:
        # The storefront asks a flash-sale buyer where to ship before the order can be paid.
        address = user_services.address_create(
            user_id=user_id, name="Ada Buyer", line1="1 Main St", city="Springfield", state="IL", postal_code="62701"
        )
        order_services.order_shipping_address_set(order_id=order.id, user_id=user_id, address_id=address.id)
    return order
