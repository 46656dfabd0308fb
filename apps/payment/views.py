"""Storefront payment step: test mode against stripe-mock, Stripe Elements with live keys, PayPal."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from apps.order import selectors as order_selectors
from apps.order.events import PAID_STATUSES, PAYABLE, OrderStatus
from apps.payment import selectors, services, testmode
from nexuscart.errors import ApplicationError


def _order_or_404(request: HttpRequest, order_id: int):
    order = order_selectors.order_get(order_id=order_id, user_id=request.user.pk, with_history=False)
    if order is None:
        raise Http404("No such order")
    return order


@login_required
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    if order.status in PAYABLE and not order.shipping_address:
        # A flash-sale order starts without an address: it is chosen on the order page first.
        messages.error(request, "Choose a shipping address before paying.")
        return redirect("order:order-detail", order_id=order.id)
    test_mode = testmode.is_test_mode()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "test-pay" and test_mode:
                services.payment_testmode_pay(order_id=order.id, user_id=request.user.pk)
            elif action == "paypal":
                payment = services.payment_create(
                    order_id=order.id,
                    user_id=request.user.pk,
                    provider="paypal",
                    return_url=request.build_absolute_uri(reverse("payment:paypal-return", args=[order.id])),
                    cancel_url=request.build_absolute_uri(reverse("payment:pay", args=[order.id])),
                )
                return redirect(payment.approval_url)
            else:
                messages.error(request, "Unknown payment action.")
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        return redirect("payment:pay", order_id=order.id)
    stripe_payment = None
    if not test_mode and order.status == OrderStatus.AWAITING_PAYMENT and settings.STRIPE_PUBLISHABLE_KEY:
        try:
            stripe_payment = services.payment_create(order_id=order.id, user_id=request.user.pk, provider="stripe")
        except ApplicationError as exc:
            messages.error(request, exc.detail)
    return render(
        request,
        "payment/pay.html",
        {
            "order": order,
            "paid": order.status in PAID_STATUSES,
            "payable": order.status in PAYABLE,
            "test_mode": test_mode,
            "stripe_payment": stripe_payment,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "paypal_enabled": bool(settings.PAYPAL_CLIENT_ID),
            "payments": selectors.payment_list_for_order(order_id=order.id),
        },
    )


@login_required
@require_GET
def pay_status(request: HttpRequest, order_id: int) -> JsonResponse:
    order = _order_or_404(request, order_id)
    return JsonResponse({"order_id": str(order.id), "status": order.status, "paid": order.status in PAID_STATUSES})


@login_required
@require_GET
def paypal_return(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    try:
        services.paypal_return(order_id=order.id, user_id=request.user.pk, token=request.GET.get("token", ""))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("payment:pay", order_id=order.id)
