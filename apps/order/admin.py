"""Staff view of orders: filters, history inline, and the lifecycle transitions as admin actions.

Orders are never edited field by field: every change goes through a service (one transition,
logged, with its event), so the change form is read-only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.order import services
from apps.order.events import REFUNDABLE
from apps.order.models import Order, OrderLine, OrderStatus, OrderTransition
from apps.user import selectors as user_selectors
from nexuscart.display import money
from nexuscart.errors import ApplicationError


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "unit_price_display", "line_total_display")
    readonly_fields = fields

    @admin.display(description="unit price")
    def unit_price_display(self, obj: OrderLine) -> str:
        return money(obj.unit_price)

    @admin.display(description="line total")
    def line_total_display(self, obj: OrderLine) -> str:
        return money(obj.line_total)


class OrderTransitionInline(ReadOnlyInline):
    model = OrderTransition
    fields = ("at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    verbose_name_plural = "history"
    ordering = ("at", "id")


def _run(modeladmin, request, queryset, label: str, call) -> None:
    done, failed = 0, []
    for order in queryset:
        try:
            call(order)
            done += 1
        except ApplicationError as exc:
            failed.append(f"{order.id}: {exc.detail}")
    if done:
        modeladmin.message_user(request, f"{label}: {done} order(s).", messages.SUCCESS)
    for message in failed[:20]:
        modeladmin.message_user(request, message, messages.ERROR)


def _actor(request) -> str:
    return f"staff:{request.user.id}:{request.user.get_username()}"


def _ship(order: Order, request) -> None:
    if not order.shipping_address:
        # Flash-sale orders get their address from the shopper before payment; never ship blind.
        raise ApplicationError(f"Order {order.id} has no shipping address.", code="no_address")
    services.order_ship(order_id=order.id, actor=_actor(request))


@admin.action(description="Ship selected orders (PAID → SHIPPED)", permissions=["change"])
def ship_orders(modeladmin, request, queryset) -> None:
    _run(modeladmin, request, queryset, "Shipped", lambda o: _ship(o, request))


@admin.action(description="Complete selected orders (SHIPPED → COMPLETED)", permissions=["change"])
def complete_orders(modeladmin, request, queryset) -> None:
    _run(
        modeladmin,
        request,
        queryset,
        "Completed",
        lambda o: services.order_complete(order_id=o.id, actor=_actor(request)),
    )


@admin.action(description="Cancel selected orders (unpaid only; releases stock)", permissions=["change"])
def cancel_orders(modeladmin, request, queryset) -> None:
    _run(
        modeladmin,
        request,
        queryset,
        "Cancelled",
        lambda o: services.order_cancel(order_id=o.id, actor=_actor(request), reason="cancelled by staff"),
    )


@admin.action(description="Mark selected orders awaiting payment (CREATED → AWAITING_PAYMENT)", permissions=["change"])
def await_payment(modeladmin, request, queryset) -> None:
    _run(
        modeladmin,
        request,
        queryset,
        "Awaiting payment",
        lambda o: services.order_mark_awaiting_payment(order_id=o.id, actor=_actor(request)),
    )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "status", "total_display", "coupon_code", "created_at", "paid_at")
    list_filter = ("status", "created_at", "currency", ("flash_sale_campaign_id", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=user_id", "payment_reference", "flash_sale_reservation_id")
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, OrderTransitionInline)
    actions = (await_payment, ship_orders, complete_orders, cancel_orders)
    change_form_template = "order/admin_order_change.html"
    fieldsets = (
        (None, {"fields": ("id", "customer", "status", "next_steps", "created_at", "paid_at", "updated_at")}),
        (
            "Money",
            {
                "fields": (
                    "subtotal_display",
                    "discount_display",
                    "total_display",
                    "refunded_display",
                    "coupon_code",
                    "payment_link",
                    "payment_reference",
                )
            },
        ),
        ("Shipping", {"fields": ("ships_to",)}),
        ("Flash sale", {"fields": ("flash_sale_campaign_id", "flash_sale_reservation_id"), "classes": ("collapse",)}),
    )
    readonly_fields = (
        "id", "customer", "status", "next_steps", "created_at", "paid_at", "updated_at", "subtotal_display",
        "discount_display", "total_display", "refunded_display", "coupon_code", "payment_link", "payment_reference",
        "ships_to", "flash_sale_campaign_id", "flash_sale_reservation_id",
    )  # fmt: skip
    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {k: v for k, v in super().get_actions(request).items() if k != "delete_selected"}

    @admin.display(description="allowed next")
    def next_steps(self, obj: Order) -> str:
        return ", ".join(t.target for t in obj.get_available_status_transitions()) or "—"

    def get_queryset(self, request):
        # The customer column's e-mail comes with the rows (one query per page, not one per row).
        return super().get_queryset(request).annotate(customer_email=user_selectors.user_email_subquery())

    @admin.display(description="customer", ordering="user_id")
    def customer(self, obj: Order):
        email = getattr(obj, "customer_email", None)
        if email is None:
            user = user_selectors.user_get(user_id=obj.user_id)
            email = user.email if user else None
        label = email or f"user {obj.user_id}"
        return format_html('<a href="{}">{}</a>', reverse("admin:user_user_change", args=[obj.user_id]), label)

    @admin.display(description="total", ordering="total")
    def total_display(self, obj: Order) -> str:
        return money(obj.total, obj.currency)

    @admin.display(description="subtotal")
    def subtotal_display(self, obj: Order) -> str:
        return money(obj.subtotal, obj.currency)

    @admin.display(description="discount")
    def discount_display(self, obj: Order) -> str:
        return money(obj.discount, obj.currency)

    @admin.display(description="refunded")
    def refunded_display(self, obj: Order) -> str:
        return money(obj.refunded_total, obj.currency)

    @admin.display(description="payments")
    def payment_link(self, obj: Order):
        try:
            url = reverse("admin:payment_payment_changelist")
        except NoReverseMatch:  # pragma: no cover - payment admin not installed
            return "—"
        return format_html('<a href="{}?order_id={}">Payments of this order</a>', url, obj.id)

    @admin.display(description="ships to")
    def ships_to(self, obj: Order):
        a = obj.shipping_address or {}
        if not a:
            return format_html('<strong style="color:#a4262c">{}</strong>', "No shipping address yet")
        line2 = f", {a['line2']}" if a.get("line2") else ""
        return format_html(
            "{}<br>{}{}<br>{}, {} {}<br>{}",
            a.get("name", ""), a.get("line1", ""), line2, a.get("city", ""), a.get("state", ""),
            a.get("postal_code", ""), a.get("phone", ""),
        )  # fmt: skip

    def get_urls(self):
        return [
            path("<int:order_id>/ship/", self.admin_site.admin_view(self.ship_view), name="order_order_ship"),
            *super().get_urls(),
        ]

    def ship_view(self, request: HttpRequest, order_id: int):
        return require_POST(self._ship_view)(request, order_id)

    def _ship_view(self, request: HttpRequest, order_id: int):
        order = get_object_or_404(Order, pk=order_id)
        if not self.has_change_permission(request, order):
            self.message_user(request, "You may not ship orders.", messages.ERROR)
        else:
            try:
                _ship(order, request)
                self.message_user(request, f"Order {order.id} is shipped.", messages.SUCCESS)
            except ApplicationError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:order_order_change", args=[order.id]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = Order.objects.filter(pk=object_id).first()
        extra = {
            "can_ship": bool(order and order.status == OrderStatus.PAID),
            "can_refund": bool(order and order.status in REFUNDABLE),
            "refundable_left": money(order.total - order.refunded_total, order.currency) if order else "",
            "refundable_max": f"{(order.total - order.refunded_total) / 100:.2f}" if order else "0",
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


__all__ = ["OrderAdmin", "OrderStatus"]
