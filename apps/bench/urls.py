"""ROOT_URLCONF under config.settings.bench: every route of config.urls plus the naive baselines.

The baselines do what the real endpoints do the way a first version would (row locks, one
transaction per request), so a benchmark can measure both in the same run on the same server.
"""

from django.urls import path

from apps.bench import naive_flash_sale
from apps.bench.naive_checkout import NaiveOrderCreateApi
from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/v1/flash-sales/_bench/naive-purchase", naive_flash_sale.naive_purchase, name="bench-naive-purchase"),
    path("api/v1/bench/orders-naive", NaiveOrderCreateApi.as_view(), name="bench-naive"),
    *project_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
