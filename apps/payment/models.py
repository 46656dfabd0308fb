"""Tables of the payment context. Other contexts refer to its rows by id only, never by foreign key.

Orders live in another context: a payment stores `order_id` and `user_id`, not a foreign key.
"""

from __future__ import annotations

from django.db import models

from nexuscart.snowflake import next_id


class Payment(models.Model):
    class Status(models.TextChoices):
        CREATING = "creating"  # recorded; the provider has not (knowingly) created it yet
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELED = "canceled"

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        PAYPAL = "paypal", "PayPal"

    id = models.BigIntegerField(primary_key=True, default=next_id, editable=False)
    order_id = models.BigIntegerField(db_index=True)
    user_id = models.BigIntegerField(db_index=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_reference = models.CharField(max_length=255)
    capture_reference = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    captured_amount = models.BigIntegerField(default=0)
    refunded_amount = models.BigIntegerField(default=0)
    attempt = models.PositiveIntegerField()
    client_secret = models.CharField(max_length=255, blank=True, default="")
    approval_url = models.URLField(max_length=1000, blank=True, default="")
    failure_message = models.TextField(blank=True, default="")
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # Lease of the one process talking to the provider about this row (create, capture, poll):
    # the call runs with no transaction open, so this is what keeps a second caller from
    # sending the same idempotency key concurrently. Expires by itself if that process dies.
    submitting_until = models.DateTimeField(null=True, blank=True)
    # The client's Idempotency-Key of the request that created it: the same key gets this payment back.
    request_key = models.CharField(max_length=255, blank=True, default="")
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A payment being created has no provider reference yet.
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~models.Q(provider_reference=""),
                name="payment_unique_reference",
            ),
            models.UniqueConstraint(fields=["order_id", "attempt"], name="payment_unique_attempt"),
            models.UniqueConstraint(
                fields=["user_id", "request_key"],
                condition=~models.Q(request_key=""),
                name="payment_unique_request_key",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__lte=models.F("captured_amount")) & models.Q(refunded_amount__gte=0),
                name="payment_refund_within_capture",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_created")]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_reference} ({self.status})"

    @property
    def refundable_amount(self) -> int:
        return self.captured_amount - self.refunded_amount


class ProviderEvent(models.Model):
    """Every verified webhook (and every polled status), stored once per provider event id."""

    class Outcome(models.TextChoices):
        APPLIED = "applied"
        ALREADY_APPLIED = "already_applied"
        DEFERRED = "deferred"
        FLAGGED = "flagged"
        IGNORED = "ignored"

    provider = models.CharField(max_length=16)
    provider_event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    detail = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_event_id"], name="provider_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.provider_event_id}"


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested"  # recorded, not yet sent to the provider
        PENDING = "pending"  # the provider accepted it and has not confirmed yet
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.BigIntegerField(primary_key=True, default=next_id, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order_id = models.BigIntegerField(db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    provider_reference = models.CharField(max_length=255, blank=True, default="")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    requested_by = models.CharField(max_length=255)
    reason = models.TextField(blank=True, default="")
    failure_message = models.TextField(blank=True, default="")
    submitting_until = models.DateTimeField(null=True, blank=True)  # as Payment.submitting_until
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["payment", "provider_reference"],
                condition=~models.Q(provider_reference=""),
                name="refund_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} of {self.payment_id} ({self.status})"


class PaymentFlag(models.Model):
    """Something staff must look at: the admin lists the open ones."""

    class Kind(models.TextChoices):
        AMOUNT_MISMATCH = "amount_mismatch", "Amount or currency mismatch"
        SUCCESS_AFTER_CANCEL = "success_after_cancel", "Paid after the order was cancelled (auto refund)"
        UNKNOWN_PAYMENT = "unknown_payment", "Money for a payment we do not know"
        PAID_WITHOUT_CAPTURE = "paid_without_capture", "Order paid but no capture found"
        DOUBLE_CAPTURE = "double_capture", "Order captured more than once (extra refunded)"
        REFUND_FAILED = "refund_failed", "Refund failed at the provider"
        STOCK_RELEASED = "stock_released", "Paid after the order's stock was released (auto refund)"

    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    detail = models.TextField()
    resolved = models.BooleanField(default=False)
    resolved_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One open flag per kind and payment: re-runs of reconciliation must not pile up duplicates.
            models.UniqueConstraint(
                fields=["payment", "kind"], condition=models.Q(resolved=False), name="payment_flag_open_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail[:60]}"
