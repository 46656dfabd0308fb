"""Routes of the catalog context: API under api/v1/, storefront pages at the top."""

from django.urls import path

from apps.catalog import views
from apps.catalog.api import views as api

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search_page, name="search"),
    path("search/", views.search_page),
    path("c/<path:ref>/", views.category_page, name="category"),
    path("p/<slug:slug>/", views.product_page, name="product"),
    path("demo-images/<slug:kind>/<slug:name>.jpg", views.demo_image, name="demo-image"),
    path("api/v1/categories", api.CategoryTreeApi.as_view(), name="api-categories"),
    path("api/v1/products", api.ProductListApi.as_view(), name="api-products"),
    path("api/v1/products/<str:slug>", api.ProductDetailApi.as_view(), name="api-product"),
    path("api/v1/search", api.SearchApi.as_view(), name="api-search"),
    path("api/v1/search/suggest", api.SuggestApi.as_view(), name="api-search-suggest"),
]
