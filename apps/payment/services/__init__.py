"""Write entry points of the payment context: keyword-only, typed, events to the outbox.

One module per use case, all re-exported here so `from apps.payment import services` keeps working:
- payments: starting a payment (create, test-mode pay, PayPal return)
- webhooks: every provider fact (webhook, polled state, capture answer) stored once and applied
- refunds: staff and automatic refunds
- polling: cancelling open payments at the provider, polling payments whose webhook is late
- reconcile: payments against orders
"""

from apps.payment.services._common import ProviderRejected
from apps.payment.services.payments import payment_create, payment_testmode_pay, paypal_return
from apps.payment.services.polling import (
    payment_cancel_for_order,
    payment_cancel_requested,
    payment_poll,
    payment_poll_late,
)
from apps.payment.services.reconcile import ReconcileAction, payments_reconcile
from apps.payment.services.refunds import RefundResult, refund_create, refund_submit, refund_submit_requested
from apps.payment.services.webhooks import EventResult, provider_event_apply, webhook_receive

__all__ = [
    "EventResult",
    "ProviderRejected",
    "ReconcileAction",
    "RefundResult",
    "payment_cancel_for_order",
    "payment_cancel_requested",
    "payment_create",
    "payment_poll",
    "payment_poll_late",
    "payment_testmode_pay",
    "payments_reconcile",
    "paypal_return",
    "provider_event_apply",
    "refund_create",
    "refund_submit",
    "refund_submit_requested",
    "webhook_receive",
]
