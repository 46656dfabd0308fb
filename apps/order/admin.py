"""Staff view of orders: filters, history inline, and the lifecycle transitions as admin actions.

Orders are never edited field by field: every change goes through a service (one transition,
logged, with its event), so the change form is read-only.
"""

from __future__ import annotations

from django.contrib import admin, messages

from apps.order import services
from apps.order.models import Order, OrderLine, OrderStatus, OrderTransition
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
    fields = ("sku", "name", "quantity", "unit_price", "line_total")
    readonly_fields = fields


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


@admin.action(description="Ship selected orders (PAID → SHIPPED)")
def ship_orders(modeladmin, request, queryset) -> None:
    _run(modeladmin, request, queryset, "Shipped", lambda o: services.order_ship(order_id=o.id, actor=_actor(request)))


@admin.action(description="Complete selected orders (SHIPPED → COMPLETED)")
def complete_orders(modeladmin, request, queryset) -> None:
    _run(
        modeladmin,
        request,
        queryset,
        "Completed",
        lambda o: services.order_complete(order_id=o.id, actor=_actor(request)),
    )


@admin.action(description="Cancel selected orders (unpaid only; releases stock)")
def cancel_orders(modeladmin, request, queryset) -> None:
    _run(
        modeladmin,
        request,
        queryset,
        "Cancelled",
        lambda o: services.order_cancel(order_id=o.id, actor=_actor(request), reason="cancelled by staff"),
    )


@admin.action(description="Mark selected orders awaiting payment (CREATED → AWAITING_PAYMENT)")
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
    list_display = ("id", "user_id", "status", "total", "currency", "coupon_code", "created_at", "paid_at")
    list_filter = ("status", "created_at", "currency", ("flash_sale_campaign_id", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=user_id", "payment_reference", "flash_sale_reservation_id")
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, OrderTransitionInline)
    actions = (await_payment, ship_orders, complete_orders, cancel_orders)
    readonly_fields = tuple(f.name for f in Order._meta.fields)
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

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "next_steps")


__all__ = ["OrderAdmin", "OrderStatus"]
