"""factory_boy factories of the user context."""

from __future__ import annotations

import factory

from apps.user.models import Address
from tests.factories import PASSWORD, UserFactory

__all__ = ["PASSWORD", "AddressFactory", "UserFactory"]


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    name = "Ada Shopper"
    line1 = factory.Sequence(lambda n: f"{100 + n} Market Street")
    line2 = ""
    city = "San Francisco"
    state = "CA"
    postal_code = "94103"
    country = "US"
    phone = "+1 415 555 0100"
    is_default_shipping = False
