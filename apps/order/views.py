"""Storefront pages of the order context (server-rendered, thin: one service or selector call each)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.order import selectors, services
from apps.order.events import CANCELLABLE, PAYABLE
from apps.promotion import selectors as promotion_selectors
from apps.promotion import services as promotion_services
from apps.user import selectors as user_selectors
from nexuscart import form_nonce
from nexuscart.errors import ApplicationError

SESSION_CART_KEY = "guest_cart"
SESSION_COUPON_KEY = "guest_cart_coupon"  # the same key the cart API uses
SESSION_CART_COUNT_KEY = "cart_count"


def _cart_coupon(request: HttpRequest) -> str | None:
    if request.user.is_authenticated:
        return promotion_selectors.cart_coupon_get(user_id=request.user.id)
    return request.session.get(SESSION_COUPON_KEY)


def _cart_view(request: HttpRequest, items: dict[str, int]):
    """The cart priced with its coupon; a coupon that stopped applying is dropped with a word why."""
    user_id = request.user.id if request.user.is_authenticated else None
    coupon = _cart_coupon(request)
    if coupon:
        try:
            return services.cart_view(items=items, user_id=user_id, coupon_code=coupon)
        except ApplicationError as exc:
            if items:
                messages.warning(request, f"Coupon {coupon} no longer applies: {exc.detail}")
            _coupon_forget(request)
    return services.cart_view(items=items, user_id=user_id)


def _coupon_forget(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        promotion_services.cart_coupon_clear(user_id=request.user.id)
    else:
        request.session.pop(SESSION_COUPON_KEY, None)


def _line_name(sku: str) -> str:
    line = next((ln for ln in services.cart_view(items={sku: 1}).items), None)
    return line.name if line else sku


def _items(request: HttpRequest) -> dict[str, int]:
    if request.user.is_authenticated:
        return selectors.cart_items_get(user_id=request.user.id)
    return dict(request.session.get(SESSION_CART_KEY, {}))


def _quantity(raw: str | None, default: int) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
def cart_page(request: HttpRequest) -> HttpResponse:
    """The cart; its coupon form posts back here (action=coupon)."""
    if request.method == "POST":
        return _cart_coupon_action(request)
    items = _items(request)
    _remember_count(request, items)
    cart = _cart_view(request, items)
    return render(request, "order/cart.html", {"cart": cart, "max_quantity": settings.ORDER_MAX_LINE_QUANTITY})


def _cart_coupon_action(request: HttpRequest) -> HttpResponse:
    """Apply (code=...) or remove (remove=1) the cart's coupon; the checkout charges what the cart shows."""
    back = "order:checkout" if request.POST.get("next") == "checkout" else "order:cart"
    if request.POST.get("remove"):
        _coupon_forget(request)
        messages.success(request, "Coupon removed.")
        return redirect(back)
    code = request.POST.get("code", "").strip().upper()[:40]
    if not code:
        messages.error(request, "Enter a coupon code.")
        return redirect(back)
    user_id = request.user.id if request.user.is_authenticated else None
    try:
        cart = services.cart_view(items=_items(request), user_id=user_id, coupon_code=code)
        if user_id is not None:
            promotion_services.cart_coupon_set(user_id=user_id, code=code)
        else:
            request.session[SESSION_COUPON_KEY] = cart.coupon_code or code
        messages.success(request, f"Coupon {code} applied.")
    except ApplicationError as exc:
        messages.error(request, f"Coupon {code} cannot be used: {exc.detail}")
    return redirect(back)


def _set(request: HttpRequest, sku: str, quantity: int, *, add: bool) -> None:
    if request.user.is_authenticated:
        items = services.cart_item_set(user_id=request.user.id, sku=sku, quantity=quantity, add=add)
    else:
        items = services.guest_cart_item_set(items=_items(request), sku=sku, quantity=quantity, add=add)
        request.session[SESSION_CART_KEY] = items
    _remember_count(request, items)


def _remember_count(request: HttpRequest, items: dict[str, int]) -> None:
    """The header's cart count, kept in the session so no page pays a query for it."""
    request.session[SESSION_CART_COUNT_KEY] = sum(items.values())


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Form target for "Add to cart" buttons anywhere in the storefront (fields: sku, quantity, next)."""
    sku, quantity = request.POST.get("sku", ""), _quantity(request.POST.get("quantity"), 1)
    try:
        if quantity is None:
            raise services.BadRequest("Quantity must be a whole number.", code="invalid_quantity")
        _set(request, sku, quantity, add=True)
        messages.success(request, f"Added {quantity} x {_line_name(sku)} to your cart.")
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
        if request.POST.get("remove"):
            quantity = 0
        _set(request, sku, quantity, add=False)
        if quantity == 0:
            messages.success(request, f"Removed {_line_name(sku)} from your cart.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("order:cart")


def checkout_page(request: HttpRequest) -> HttpResponse:
    """Signed in (guests become signed in at /checkout/guest/): address, coupon, place the order."""
    items = _items(request)
    cart = _cart_view(request, items)
    if not request.user.is_authenticated:
        return render(request, "order/checkout_start.html", {"cart": cart})
    addresses = user_selectors.address_list(user_id=request.user.id)
    if request.method == "POST":
        try:
            address_id = int(request.POST.get("shipping_address_id", ""))
        except ValueError:
            messages.error(request, "Choose a shipping address.")
            return redirect("order:checkout")
        # One order per rendered form (nexuscart.form_nonce): a double click or a re-sent POST
        # lands on the order the first submission placed.
        nonce, scope = request.POST.get("checkout_nonce"), f"checkout:{request.user.id}"
        if form_nonce.valid(nonce):
            first, placed = form_nonce.claim(scope, nonce)
            if not first:
                if placed:
                    return redirect(reverse("order:order-detail", args=[int(placed)]) + "?placed=1")
                messages.info(request, "Your order is already being placed.")
                return redirect("order:orders")
        try:
            # The coupon the cart shows is the coupon the order gets: never charge the full price
            # after the shopper saw the discount.
            order = services.order_create(
                user_id=request.user.id,
                lines=None,
                shipping_address_id=address_id,
                coupon_code=cart.coupon_code,
                shipping_method=request.POST.get("shipping_method") or _default_method(),
            )
        except ApplicationError as exc:
            if form_nonce.valid(nonce):
                form_nonce.release(scope, nonce)
            messages.error(request, exc.detail)
            return redirect("order:checkout")
        if form_nonce.valid(nonce):
            form_nonce.complete(scope, nonce, str(order.id))
        if cart.coupon_code:
            _coupon_forget(request)
        _remember_count(request, {})
        return redirect(reverse("order:order-detail", args=[order.id]) + "?placed=1")
    options = services.shipping_options()
    chosen_address = _chosen(addresses, request.GET.get("address"))
    method = request.GET.get("method") or (options[0].code if options else "")
    if method not in {o.code for o in options}:
        method = options[0].code if options else ""
    totals = _checkout_totals(cart, method, chosen_address)
    return render(
        request,
        "order/checkout.html",
        {
            "cart": cart,
            "addresses": addresses,
            "chosen_address_id": chosen_address.id if chosen_address else None,
            "options": [(o, o.price_for(cart.total)) for o in options],
            "method": method,
            "totals": totals,
            "checkout_nonce": form_nonce.new(),
        },
    )


def _default_method() -> str | None:
    options = services.shipping_options()
    return options[0].code if options else None


def _chosen(addresses: list, raw: str | None):
    wanted = next((a for a in addresses if str(a.id) == (raw or "")), None)
    return wanted or next((a for a in addresses if a.is_default_shipping), addresses[0] if addresses else None)


def _checkout_totals(cart, method: str, address) -> dict:
    """The summary the shopper sees before placing the order: the same quote order_create charges."""
    quote = (
        services.shipping_quote(method=method, goods=cart.total, state=address.state) if method and address else None
    )
    shipping, tax = (quote.shipping, quote.tax) if quote else (0, 0)
    return {
        "subtotal": cart.subtotal,
        "discount": cart.discount,
        "coupon_code": cart.coupon_code,
        "shipping": shipping,
        "shipping_method_name": quote.method_name if quote else "",
        "tax": tax,
        "tax_rate": quote.tax_rate if quote else None,
        "tax_state": address.state if address else "",
        "total": cart.total + shipping + tax,
    }


@login_required
def order_history_page(request: HttpRequest) -> HttpResponse:
    page = selectors.order_list(user_id=request.user.id, cursor=request.GET.get("cursor"), limit=20)
    return render(request, "order/history.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def order_detail_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order, with Pay and the pay-by time while unpaid; its address form posts back here."""
    if request.method == "POST":
        return _order_address_action(request, order_id)
    order = selectors.order_get(order_id=order_id, user_id=request.user.id)
    if order is None:
        raise Http404("No such order")
    payable = order.status in PAYABLE
    needs_address = payable and not services.order_has_shipping_address(order)
    return render(
        request,
        "order/detail.html",
        {
            "order": order,
            "placed": request.GET.get("placed") == "1",
            "payable": payable,
            "needs_address": needs_address,
            "addresses": user_selectors.address_list(user_id=request.user.id) if needs_address else [],
            "pay_by": _pay_by(order) if payable else None,
            "can_cancel": order.status in CANCELLABLE,
        },
    )


def _pay_by(order) -> object:
    """When the payment-timeout sweep cancels this order if it is still unpaid."""
    return order.created_at + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def _order_address_action(request: HttpRequest, order_id: int) -> HttpResponse:
    """A flash-sale order (created without an address) gets one of the shopper's addresses."""
    try:
        services.order_shipping_address_set(
            order_id=order_id, user_id=request.user.id, address_id=int(request.POST.get("shipping_address_id", ""))
        )
        messages.success(request, "Shipping address saved. You can pay now.")
    except ValueError:
        messages.error(request, "Choose a shipping address.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("order:order-detail", order_id=order_id)


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel_action(request: HttpRequest, order_id: int) -> HttpResponse:
    """GET asks "are you sure?"; only the POST of that page cancels."""
    if request.method == "GET":
        order = selectors.order_get(order_id=order_id, user_id=request.user.id, with_history=False)
        if order is None:
            raise Http404("No such order")
        if order.status not in CANCELLABLE:
            return redirect("order:order-detail", order_id=order_id)
        return render(request, "order/cancel_confirm.html", {"order": order})
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
