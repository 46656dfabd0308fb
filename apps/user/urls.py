"""Routes of the user context: API under api/v1/, storefront account pages, allauth under accounts/.

No app_name: allauth reverses its own un-namespaced names (account_login, ...), which a namespace
around this include would hide.
"""

from django.urls import include, path

from apps.user import views
from apps.user.api import views as api

urlpatterns = [
    path("api/v1/auth/register", api.RegisterApi.as_view(), name="api-auth-register"),
    path("api/v1/auth/token", api.TokenObtainApi.as_view(), name="api-auth-token"),
    path("api/v1/auth/token/refresh", api.TokenRefreshApi.as_view(), name="api-auth-token-refresh"),
    path("api/v1/auth/logout", api.LogoutApi.as_view(), name="api-auth-logout"),
    path("api/v1/me", api.MeApi.as_view(), name="api-me"),
    path("api/v1/me/addresses", api.AddressListApi.as_view(), name="api-me-addresses"),
    path("api/v1/me/addresses/<int:address_id>", api.AddressDetailApi.as_view(), name="api-me-address"),
    path("accounts/", include("allauth.urls")),
    path("account/", views.profile, name="user-profile"),
    path("account/access-token", views.access_token, name="user-access-token"),
    path("checkout/guest/", views.guest_checkout_start, name="user-guest-checkout"),
    path("account/addresses/", views.address_list, name="user-addresses"),
    path("account/addresses/new/", views.address_create, name="user-address-create"),
    path("account/addresses/<int:address_id>/edit/", views.address_edit, name="user-address-edit"),
    path("account/addresses/<int:address_id>/delete/", views.address_delete, name="user-address-delete"),
    path("account/addresses/<int:address_id>/default/", views.address_make_default, name="user-address-default"),
]
