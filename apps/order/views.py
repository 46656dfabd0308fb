"""Storefront pages of the order context (server-rendered, thin: one service or selector call each)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.order import selectors, services
from apps.user import selectors as user_selectors
from nexuscart.errors import ApplicationError

SESSION_CART_KEY = "guest_cart"


def _items(request: HttpRequest) -> dict[str, int]:
    if request.user.is_authenticated:
        return selectors.cart_items_get(user_id=request.user.id)
    return dict(request.session.get(SESSION_CART_KEY, {}))


def _quantity(raw: str | None, default: int) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        return None


def cart_page(request: HttpRequest) -> HttpResponse:
    user_id = request.user.id if request.user.is_authenticated else None
    cart = services.cart_view(items=_items(request), user_id=user_id)
    return render(request, "order/cart.html", {"cart": cart})


def _set(request: HttpRequest, sku: str, quantity: int, *, add: bool) -> None:
    if request.user.is_authenticated:
        services.cart_item_set(user_id=request.user.id, sku=sku, quantity=quantity, add=add)
    else:
        request.session[SESSION_CART_KEY] = services.guest_cart_item_set(
            items=_items(request), sku=sku, quantity=quantity, add=add
        )


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Form target for "Add to cart" buttons anywhere in the storefront (fields: sku, quantity, next)."""
    sku, quantity = request.POST.get("sku", ""), _quantity(request.POST.get("quantity"), 1)
    try:
        if quantity is None:
            raise services.BadRequest("Quantity must be a whole number.", code="invalid_quantity")
        _set(request, sku, quantity, add=True)
        messages.success(request, f"Added {quantity} x {sku} to your cart.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    target = request.POST.get("next") or reverse("order:cart")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("order:cart")
    return redirect(target)


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    sku, quantity = request.POST.get("sku", ""), _quantity(request.POST.get("quantity"), 0)
    try:
        if quantity is None:
            raise services.BadRequest("Quantity must be a whole number.", code="invalid_quantity")
        _set(request, sku, quantity, add=False)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("order:cart")


@login_required
def checkout_page(request: HttpRequest) -> HttpResponse:
    items = _items(request)
    cart = services.cart_view(items=items, user_id=request.user.id)
    addresses = user_selectors.address_list(user_id=request.user.id)
    if request.method == "POST":
        try:
            address_id = int(request.POST.get("shipping_address_id", ""))
        except ValueError:
            messages.error(request, "Choose a shipping address.")
            return redirect("order:checkout")
        try:
            order = services.order_create(user_id=request.user.id, lines=None, shipping_address_id=address_id)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            return redirect("order:checkout")
        messages.success(request, "Thank you! Your order is placed.")
        return redirect(reverse("order:order-detail", args=[order.id]) + "?placed=1")
    return render(
        request,
        "order/checkout.html",
        {"cart": cart, "addresses": addresses},
    )


@login_required
def order_history_page(request: HttpRequest) -> HttpResponse:
    page = selectors.order_list(user_id=request.user.id, cursor=request.GET.get("cursor"), limit=20)
    return render(request, "order/history.html", {"page": page})


@login_required
def order_detail_page(request: HttpRequest, order_id: int) -> HttpResponse:
    order = selectors.order_get(order_id=order_id, user_id=request.user.id)
    if order is None:
        raise Http404("No such order")
    return render(
        request,
        "order/detail.html",
        {
            "order": order,
            "placed": request.GET.get("placed") == "1",
            "can_cancel": order.status in ("CREATED", "AWAITING_PAYMENT"),
        },
    )


@login_required
@require_POST
def order_cancel_action(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        services.order_cancel(
            order_id=order_id,
            user_id=request.user.id,
            actor=f"user:{request.user.id}",
            reason="cancelled by the shopper",
        )
        messages.success(request, "Your order is cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("order:order-detail", order_id=order_id)
