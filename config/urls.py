from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from nexuscart import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="prometheus-django-metrics"),
    # A flash sale's live page for staff (apps/promotion/admin_live.py), ahead of the admin's own URLs.
    path("admin/promotion/flashsalecampaign/", include("apps.promotion.admin_live")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.user.urls")),
    path("", include("apps.catalog.urls")),
    path("", include("apps.inventory.urls")),
    path("", include("apps.promotion.urls")),
    path("", include("apps.order.urls")),
    path("", include("apps.payment.urls")),
]

handler404 = "nexuscart.errors.handler404"
handler500 = "nexuscart.errors.handler500"
