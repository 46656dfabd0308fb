"""Account pages of the storefront: thin views over the user services (allauth serves sign-up/in/out)."""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework_simplejwt.tokens import AccessToken

from apps.user import selectors, services
from apps.user.forms import AddressForm, GuestCheckoutForm, ProfileForm
from nexuscart.errors import ApplicationError, NotFound


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = selectors.user_get(user_id=request.user.pk)
    form = ProfileForm(request.POST or None, initial={"first_name": user.first_name, "last_name": user.last_name})
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user_id=request.user.pk, **form.cleaned_data)
        messages.success(request, "Your profile was saved.")
        return redirect("user-profile")
    return render(
        request,
        "user/profile.html",
        {"form": form, "account": user, "section": "profile"},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET"])
def address_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "user/address_list.html",
        {"addresses": selectors.address_list(user_id=request.user.pk), "section": "addresses"},
    )


def _save_address(request: HttpRequest, form: AddressForm, *, address_id: int | None) -> bool:
    if not form.is_valid():
        return False
    try:
        if address_id is None:
            services.address_create(user_id=request.user.pk, **form.cleaned_data)
        else:
            services.address_update(user_id=request.user.pk, address_id=address_id, **form.cleaned_data)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except ApplicationError as exc:
        form.add_service_errors(exc.extra.get("errors", {"__all__": [exc.detail]}))
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def address_create(request: HttpRequest) -> HttpResponse:
    first = not selectors.address_list(user_id=request.user.pk)
    form = AddressForm(request.POST or None, initial={"country": "US", "is_default_shipping": first})
    back = _next_url(request)
    if request.method == "POST" and _save_address(request, form, address_id=None):
        messages.success(request, "The address was added.")
        return redirect(back or "user-addresses")
    status = 400 if form.errors else 200
    context = {"form": form, "editing": False, "section": "addresses", "next": back}
    return render(request, "user/address_form.html", context, status=status)


def _next_url(request: HttpRequest) -> str:
    """Where to go back after adding an address (the checkout or an order page), if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else ""


def _own_address(request: HttpRequest, address_id: int) -> selectors.AddressSnapshot:
    address = selectors.address_get(user_id=request.user.pk, address_id=address_id)
    if address is None:
        raise Http404("No such address.")
    return address


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, address_id: int) -> HttpResponse:
    address = _own_address(request, address_id)
    form = AddressForm(request.POST or None, initial=asdict(address))
    if request.method == "POST" and _save_address(request, form, address_id=address_id):
        messages.success(request, "The address was saved.")
        return redirect("user-addresses")
    status = 400 if form.errors else 200
    context = {"form": form, "editing": True, "address": address, "section": "addresses"}
    return render(request, "user/address_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def address_delete(request: HttpRequest, address_id: int) -> HttpResponse:
    address = _own_address(request, address_id)
    if request.method == "POST":
        try:
            services.address_delete(user_id=request.user.pk, address_id=address_id)
        except NotFound as exc:
            raise Http404(exc.detail) from exc
        messages.success(request, "The address was deleted.")
        return redirect("user-addresses")
    return render(request, "user/address_confirm_delete.html", {"address": address, "section": "addresses"})


@login_required
@require_POST
def address_make_default(request: HttpRequest, address_id: int) -> HttpResponse:
    try:
        services.address_set_default_shipping(user_id=request.user.pk, address_id=address_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    messages.success(request, "This is now your default shipping address.")
    return redirect("user-addresses")


@never_cache
@require_POST
def access_token(request: HttpRequest) -> JsonResponse:
    """Swap the signed-in session (cookie + CSRF token) for a fresh short-lived API access token.

    Storefront pages call this at the moment they need the API (the flash-sale Buy button), so a
    page left open longer than the token's lifetime still works; nothing long-lived is embedded.
    """
    if not request.user.is_authenticated:
        return JsonResponse(
            {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "code": "not_signed_in",
                "detail": "Sign in first.",
            },
            status=401,
            content_type="application/problem+json",
        )
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return JsonResponse(
        {"access": str(AccessToken.for_user(request.user)), "expires_in": int(lifetime.total_seconds())}
    )


@require_http_methods(["GET", "POST"])
def guest_checkout_start(request: HttpRequest) -> HttpResponse:
    """Check out without an account: e-mail + address make a password-less account, signed in for this
    session (its cart comes along), then the ordinary checkout continues (apps/user/guests.py)."""
    if request.user.is_authenticated:
        return redirect("order:checkout")
    form = GuestCheckoutForm(request.POST or None, initial={"country": "US"})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        email = data.pop("email")
        try:
            user = services.guest_account_create(email=email, first_name=data["name"].split(" ")[0][:150])
            services.address_create(user_id=user.pk, **data, is_default_shipping=True)
        except ApplicationError as exc:
            form.add_service_errors(
                exc.extra.get("errors", {"email" if exc.code == "account_exists" else "__all__": [exc.detail]})
            )
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("order:checkout")
    status = 400 if form.errors else 200
    return render(request, "user/guest_checkout.html", {"form": form}, status=status)
