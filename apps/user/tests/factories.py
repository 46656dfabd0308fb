"""factory_boy factories of the user context."""

from __future__ import annotations

import factory

from apps.user.models import Address, User

PASSWORD = "Correct-Horse-Battery-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    first_name = "Ada"
    last_name = "Shopper"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.save(update_fields=["password"])


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
