import factory

from apps.inventory.models import Warehouse


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    priority = 100
    active = True


def sku_code(n: int | None = None) -> str:
    import uuid

    return f"SKU-{uuid.uuid4().hex[:10].upper()}"
