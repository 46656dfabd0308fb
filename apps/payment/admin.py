"""Staff view of payments: refunds (action), open flags, the raw provider events."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.payment import services
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from apps.user import selectors as user_selectors
from nexuscart.display import money
from nexuscart.errors import ApplicationError


class ReadOnlyRows:
    """Money records are written by services only: staff read them, never add, edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _order_link(order_id: int):
    return format_html('<a href="{}">{}</a>', reverse("admin:order_order_change", args=[order_id]), order_id)


def _customer_link(obj) -> str:
    # The e-mail comes annotated with the rows (user_email_subquery): one query per page, as the order admin.
    label = getattr(obj, "customer_email", None) or f"user {obj.user_id}"
    return format_html('<a href="{}">{}</a>', reverse("admin:user_user_change", args=[obj.user_id]), label)


class RefundInline(ReadOnlyRows, admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("id", "amount_display", "status", "provider_reference", "requested_by", "reason", "created_at")
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_display(self, obj: Refund) -> str:
        return money(obj.amount, obj.currency)


class FlagInline(admin.TabularInline):
    model = PaymentFlag
    extra = 0
    can_delete = False
    fields = ("kind", "detail", "resolved", "created_at")
    readonly_fields = ("kind", "detail", "created_at")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyRows, admin.ModelAdmin):
    list_display = (
        "id",
        "order",
        "customer",
        "provider",
        "status",
        "amount_display",
        "captured_display",
        "refunded_display",
        "flagged",
        "created_at",
    )
    list_filter = ("provider", "status", "flags__kind")
    search_fields = ("=id", "=order_id", "=user_id", "provider_reference", "capture_reference")
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline, FlagInline]
    actions = ["refund_remaining"]

    def get_actions(self, request):
        return {k: v for k, v in super().get_actions(request).items() if k != "delete_selected"}

    @admin.display(description="order", ordering="order_id")
    def order(self, payment: Payment):
        return _order_link(payment.order_id)

    def get_queryset(self, request):
        # The e-mail and the open-flag bit come with the rows: a page of payments is one query.
        open_flags = PaymentFlag.objects.filter(payment=OuterRef("pk"), resolved=False)
        return (
            super()
            .get_queryset(request)
            .annotate(customer_email=user_selectors.user_email_subquery(), has_open_flag=Exists(open_flags))
        )

    @admin.display(description="customer", ordering="user_id")
    def customer(self, payment: Payment):
        return _customer_link(payment)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)

    @admin.display(description="captured")
    def captured_display(self, payment: Payment) -> str:
        return money(payment.captured_amount, payment.currency)

    @admin.display(description="refunded")
    def refunded_display(self, payment: Payment) -> str:
        return money(payment.refunded_amount, payment.currency)

    def get_urls(self):
        return [
            path(
                "refund-order/<int:order_id>/",
                self.admin_site.admin_view(require_POST(self.refund_order_view)),
                name="payment_refund_order",
            ),
            *super().get_urls(),
        ]

    def refund_order_view(self, request: HttpRequest, order_id: int):
        """The order page's Refund form: a partial amount in dollars (empty = the rest), with a reason."""
        back = HttpResponseRedirect(reverse("admin:order_order_change", args=[order_id]))
        if not self.has_refund_permission(request):
            self.message_user(request, "You may not refund payments.", messages.ERROR)
            return back
        raw, reason = request.POST.get("amount", "").strip(), request.POST.get("reason", "").strip()
        try:
            amount = int((Decimal(raw) * 100).to_integral_value()) if raw else None
        except InvalidOperation:
            self.message_user(request, f"{raw!r} is not an amount.", messages.ERROR)
            return back
        if amount is not None and amount <= 0:
            self.message_user(request, "The refund amount must be positive.", messages.ERROR)
            return back
        try:
            result = services.refund_create(
                order_id=order_id,
                amount=amount,
                requested_by=f"staff:{request.user.pk}:{request.user.get_username()}",
                reason=reason or "staff refund",
                idempotency_key=f"admin:{uuid.uuid4()}",
            )
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return back
        self.message_user(
            request,
            f"Refund of {money(result.refund.amount, result.refund.currency)} {result.refund.status}; "
            f"the order is {result.order.status.replace('_', ' ').lower()}.",
            messages.SUCCESS,
        )
        return back

    @admin.display(boolean=True, description="open flag", ordering="has_open_flag")
    def flagged(self, payment: Payment) -> bool:
        return payment.has_open_flag

    def has_refund_permission(self, request: HttpRequest) -> bool:
        # The finance role's permission (apps/user/migrations/0003_staff_roles.py), as the staff API.
        return request.user.has_perm("payment.add_refund")

    @admin.action(description="Refund what is left of the selected payments", permissions=["refund"])
    def refund_remaining(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        for payment in queryset:
            try:
                result = services.refund_create(
                    order_id=payment.order_id,
                    amount=None,
                    requested_by=f"staff:{request.user.pk}:{request.user.get_username()}",
                    reason="staff refund (admin action)",
                    idempotency_key=f"admin:{uuid.uuid4()}",
                )
            except ApplicationError as exc:
                self.message_user(request, f"Payment {payment.id}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"Payment {payment.id}: refund of {money(result.refund.amount, result.refund.currency)} "
                f"{result.refund.status}; order {result.order.id} is {result.order.status}.",
                messages.SUCCESS,
            )


@admin.register(PaymentFlag)
class PaymentFlagAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "order_id", "payment", "resolved", "created_at", "detail")
    list_filter = ("resolved", "kind")
    search_fields = ("=order_id", "detail")
    readonly_fields = ("payment", "order_id", "kind", "detail", "created_at", "resolved_by")
    actions = ["mark_resolved"]

    @admin.action(description="Mark resolved", permissions=["change"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[PaymentFlag]) -> None:
        updated = queryset.filter(resolved=False).update(resolved=True, resolved_by=f"staff:{request.user.pk}")
        self.message_user(request, f"{updated} flag(s) resolved.")


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyRows, admin.ModelAdmin):
    list_display = ("provider_event_id", "provider", "event_type", "outcome", "order_id", "received_at")
    list_filter = ("provider", "outcome", "event_type")
    search_fields = ("provider_event_id", "=order_id")
    readonly_fields = [f.name for f in ProviderEvent._meta.fields]


@admin.register(Refund)
class RefundAdmin(ReadOnlyRows, admin.ModelAdmin):
    list_display = ("id", "order", "amount_display", "status", "requested_by", "reason", "created_at")
    list_filter = ("status",)
    search_fields = ("=id", "=order_id", "provider_reference")
    readonly_fields = [f.name for f in Refund._meta.fields]

    @admin.display(description="order", ordering="order_id")
    def order(self, refund: Refund):
        return _order_link(refund.order_id)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, refund: Refund) -> str:
        return money(refund.amount, refund.currency)
