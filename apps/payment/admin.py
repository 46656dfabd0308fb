"""Staff view of payments: refunds (action), open flags, the raw provider events."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.payment import services
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from nexuscart.errors import ApplicationError


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("id", "amount", "currency", "status", "provider_reference", "requested_by", "reason", "created_at")
    readonly_fields = fields


class FlagInline(admin.TabularInline):
    model = PaymentFlag
    extra = 0
    can_delete = False
    fields = ("kind", "detail", "resolved", "created_at")
    readonly_fields = ("kind", "detail", "created_at")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "order_id",
        "provider",
        "status",
        "amount",
        "captured_amount",
        "refunded_amount",
        "currency",
        "flagged",
        "created_at",
    )
    list_filter = ("provider", "status", "flags__kind")
    search_fields = ("=id", "=order_id", "=user_id", "provider_reference", "capture_reference")
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline, FlagInline]
    actions = ["refund_remaining"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(boolean=True, description="open flag")
    def flagged(self, payment: Payment) -> bool:
        return payment.flags.filter(resolved=False).exists()

    @admin.action(description="Refund what is left of the selected payments")
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
                f"Payment {payment.id}: refund of {result.refund.amount} {result.refund.currency} "
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

    @admin.action(description="Mark resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[PaymentFlag]) -> None:
        updated = queryset.filter(resolved=False).update(resolved=True, resolved_by=f"staff:{request.user.pk}")
        self.message_user(request, f"{updated} flag(s) resolved.")


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ("provider_event_id", "provider", "event_type", "outcome", "order_id", "received_at")
    list_filter = ("provider", "outcome", "event_type")
    search_fields = ("provider_event_id", "=order_id")
    readonly_fields = [f.name for f in ProviderEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("id", "order_id", "amount", "currency", "status", "requested_by", "reason", "created_at")
    list_filter = ("status",)
    search_fields = ("=id", "=order_id", "provider_reference")
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
