"""Starting a payment: the provider's payment object for an order, test-mode pay, the PayPal return."""

from __future__ import annotations

import time
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.events import OrderStatus
from apps.payment.models import Payment
from apps.payment.providers import PROVIDERS, base
from apps.payment.selectors import PaymentSnapshot, payment_snapshot
from apps.payment.services import attempts
from apps.payment.services._common import ProviderRejected, lock_order, unavailable
from apps.payment.services.webhooks import approval_apply, webhook_receive
from nexuscart.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


def payment_create(
    *,
    order_id: int,
    user_id: int,
    provider: str,
    return_url: str = "",
    cancel_url: str = "",
    request_key: str = "",
) -> PaymentSnapshot:
    """Create (or return the open) payment for the user's order at `provider`.

    An open payment for the same provider and amount is returned as it is, so a double click or
    a retried request never opens a second PaymentIntent. The attempt is recorded first (status
    CREATING), the provider is called with no transaction open under the key
    `order-<id>-attempt-<n>`, and its answer is applied in a second transaction. A concurrent
    request for the same order waits for that answer instead of calling the provider too.
    `request_key` (the client's Idempotency-Key): the same key returns the payment it created,
    whatever happened since; with another order or provider it is 422 idempotency_key_reused.
    """
    if provider not in PROVIDERS:
        raise Unprocessable(f"Unknown payment provider {provider!r}.", code="unknown_provider")
    if provider == "paypal" and not settings.PAYPAL_CLIENT_ID:
        raise ServiceUnavailable("PayPal is not configured here.", code="payment_provider_not_configured")
    deadline = time.monotonic() + attempts.lease_seconds() + 5.0
    while True:
        payment, ours = _payment_record(order_id=order_id, user_id=user_id, provider=provider, request_key=request_key)
        if payment.status != Payment.Status.CREATING:
            return payment_snapshot(payment)
        if ours:
            return _payment_send(payment, return_url=return_url, cancel_url=cancel_url)
        _wait_for_attempt(payment.id, deadline=deadline)


def _payment_record(*, order_id: int, user_id: int, provider: str, request_key: str) -> tuple[Payment, bool]:
    """Step (a): the open payment, or a new attempt row leased to us. Returns (payment, leased to us)."""
    with transaction.atomic():
        lock_order(order_id)
        keyed = Payment.objects.filter(user_id=user_id, request_key=request_key).first() if request_key else None
        if keyed is not None:
            if (keyed.order_id, keyed.provider) != (order_id, provider):
                raise Unprocessable(
                    "This Idempotency-Key was used with a different request.", code="idempotency_key_reused"
                )
            claimed = keyed.status == Payment.Status.CREATING and attempts.claim(
                Payment, keyed.id, status=Payment.Status.CREATING
            )
            return keyed, claimed
        order = order_selectors.order_get(order_id=order_id, user_id=user_id, with_history=False)
        if order is None:
            raise NotFound(f"No order {order_id}.", code="order_not_found")
        if not order.shipping_address:
            # A flash-sale order is created before the shopper said where to ship: address first.
            raise Conflict(
                f"Order {order_id} has no shipping address yet; choose one before paying.",
                code="shipping_address_required",
            )
        if order.status == OrderStatus.CREATED:
            order = order_services.order_mark_awaiting_payment(order_id=order.id, actor=f"user:{user_id}")
        if order.status != OrderStatus.AWAITING_PAYMENT:
            raise Conflict(
                f"Order {order_id} is {order.status}; only an order awaiting payment can be paid.",
                code="order_not_payable",
                extra={"order_status": order.status},
            )
        open_payment = (
            Payment.objects.filter(
                order_id=order.id,
                provider=provider,
                status__in=[Payment.Status.PENDING, Payment.Status.CREATING],
                amount=order.total,
                currency=order.currency,
                cancel_requested_at__isnull=True,
            )
            .order_by("-attempt")
            .first()
        )
        if open_payment is not None:
            ours = open_payment.status == Payment.Status.CREATING and attempts.claim(
                Payment, open_payment.id, status=Payment.Status.CREATING
            )
            return open_payment, ours
        # The attempt number makes the provider key; a failed create deletes its row, so the
        # retry gets the same number and the provider sees the same key.
        attempt = (
            Payment.objects.filter(order_id=order.id).order_by("-attempt").values_list("attempt", flat=True).first()
            or 0
        ) + 1
        payment = Payment.objects.create(
            order_id=order.id,
            user_id=order.user_id,
            provider=provider,
            provider_reference="",
            status=Payment.Status.CREATING,
            amount=order.total,
            currency=order.currency,
            attempt=attempt,
            submitting_until=attempts.lease_until(),
            request_key=request_key,
        )
        return payment, True


def _payment_send(payment: Payment, *, return_url: str, cancel_url: str) -> PaymentSnapshot:
    """Steps (b) and (c): create it at the provider with no transaction open, then record the answer."""
    try:
        created = attempts.provider(payment.provider).create_payment(
            order_id=payment.order_id,
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=f"order-{payment.order_id}-attempt-{payment.attempt}",
            return_url=return_url,
            cancel_url=cancel_url,
        )
    except (base.ProviderUnavailable, base.ProviderError) as exc:
        # Nothing of ours points at whatever the provider may have made; the retry resends the same key.
        Payment.objects.filter(id=payment.id, status=Payment.Status.CREATING).delete()
        if isinstance(exc, base.ProviderUnavailable):
            raise unavailable(exc) from exc
        raise ProviderRejected(str(exc)) from exc
    return payment_created_apply(payment_id=payment.id, created=created)


def payment_created_apply(*, payment_id: int, created: base.ProviderPayment) -> PaymentSnapshot:
    """Step (c): the provider's new payment on our attempt row, once (a replay changes nothing)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(id=payment_id)
        if payment.status == Payment.Status.CREATING:
            payment.provider_reference = created.reference
            payment.client_secret = created.client_secret or ""
            payment.approval_url = created.approval_url or ""
            # If the order was cancelled meanwhile, cancel_requested_at is set: beat cancels it there.
            payment.status = Payment.Status.PENDING
        payment.submitting_until = None
        payment.save()
        return payment_snapshot(payment)


def _wait_for_attempt(payment_id: int, *, deadline: float) -> None:
    """Another request is creating this payment: wait (no transaction, one cheap query per tick)
    until it has an answer, it gave up, or its lease lapsed — then the caller looks again."""
    while time.monotonic() < deadline:
        row = Payment.objects.filter(id=payment_id).values("status", "submitting_until").first()
        if row is None or row["status"] != Payment.Status.CREATING:
            return
        if row["submitting_until"] is None or row["submitting_until"] < timezone.now():
            return
        time.sleep(0.05)
    raise Conflict("This payment is still being created; retry shortly.", code="payment_in_progress")


def payment_testmode_pay(*, order_id: int, user_id: int) -> PaymentSnapshot:
    """TEST MODE: create the PaymentIntent, confirm it server-side against stripe-mock, and hand the
    signed payment_intent.succeeded Stripe would send to our own webhook handler."""
    from apps.payment import testmode
    from apps.payment.providers.stripe_provider import StripeProvider

    if not testmode.is_test_mode():
        raise Conflict("Test mode is off (live Stripe keys are configured).", code="test_mode_off")
    payment = payment_create(order_id=order_id, user_id=user_id, provider="stripe")
    try:
        StripeProvider().confirm_test_payment(reference=payment.provider_reference)
    except base.ProviderUnavailable as exc:
        raise unavailable(exc) from exc
    except base.ProviderError as exc:
        raise ProviderRejected(str(exc)) from exc
    # stripe-mock answers from fixtures and sends nothing: the event is what Stripe would send for this intent.
    event = testmode.stripe_event(
        "payment_intent.succeeded",
        testmode.payment_intent_object(
            reference=payment.provider_reference, order_id=order_id, amount=payment.amount, currency=payment.currency
        ),
    )
    body, headers = testmode.signed_stripe_delivery(event)
    webhook_receive(provider="stripe", body=body, headers=headers)
    return replace(payment, status=Payment.objects.get(id=payment.id).status)


def paypal_return(*, order_id: int, user_id: int, token: str) -> PaymentSnapshot:
    """The buyer came back from PayPal's approval page: capture (once) and apply the result."""
    payment = Payment.objects.filter(
        order_id=order_id, user_id=user_id, provider="paypal", provider_reference=token
    ).first()
    if payment is None:
        raise NotFound("No such PayPal payment for this order.", code="payment_not_found")
    if payment.status == Payment.Status.PENDING:
        event = base.WebhookEvent(
            provider="paypal",
            event_id=f"return:{token}",
            kind=base.KIND_APPROVED,
            provider_type="return.APPROVED",
            payment_reference=token,
            order_id=str(order_id),
            amount=payment.amount,
            currency=payment.currency,
            payload={"return": True, "token": token},
        )
        approval_apply(event=event)
    payment.refresh_from_db()
    return payment_snapshot(payment)
