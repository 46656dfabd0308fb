"""Order e-mails: confirmation, payment received, shipped, cancelled, refunded.

Flow: the order's events reach the "order-mail" consumer group (handlers.py) exactly once each
(the inbox), which queues the Celery task `tasks.order_email_send` after its transaction commits;
the task renders a plain-text and an HTML part from templates/order/email/ and sends them through
Django's mail framework (EMAIL_BACKEND / EMAIL_URL). SMTP trouble is retried by Celery.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.order import selectors
from apps.user import selectors as user_selectors


@dataclass(frozen=True)
class MailKind:
    template: str
    subject: str


#: Which events mail the shopper, and with which template and subject ({id} is the order number).
MAIL_KINDS: dict[str, MailKind] = {
    "order.OrderCreated": MailKind("confirmation", "Your NexusCart order #{id}"),
    "order.OrderPaid": MailKind("paid", "Payment received for order #{id}"),
    "order.OrderShipped": MailKind("shipped", "Order #{id} is on its way"),
    "order.OrderCancelled": MailKind("cancelled", "Order #{id} was cancelled"),
    "order.OrderRefunded": MailKind("refunded", "Refund for order #{id}"),
}


def order_email_build(*, event_type: str, order_id: int, payload: dict | None = None) -> EmailMultiAlternatives | None:
    """The message for this event, or None (no such order or shopper, or an event we do not mail)."""
    kind = MAIL_KINDS.get(event_type)
    order = selectors.order_get(order_id=order_id, with_history=False) if kind else None
    user = user_selectors.user_get(user_id=order.user_id) if order else None
    if kind is None or order is None or user is None or not user.email:
        return None
    context = {
        "order": order,
        "event": payload or {},
        "site_url": getattr(settings, "SITE_URL", "").rstrip("/"),
        "order_path": f"/orders/{order.id}/",
        "pay_path": f"/orders/{order.id}/pay/",
    }
    text = render_to_string(f"order/email/{kind.template}.txt", context)
    html = render_to_string(f"order/email/{kind.template}.html", context)
    message = EmailMultiAlternatives(
        subject=kind.subject.format(id=order.id),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"X-NexusCart-Event": event_type, "X-NexusCart-Order": str(order.id)},
    )
    message.attach_alternative(html, "text/html")
    return message


def order_email_send(*, event_type: str, order_id: int, payload: dict | None = None) -> bool:
    message = order_email_build(event_type=event_type, order_id=order_id, payload=payload)
    if message is None:
        return False
    message.send(fail_silently=False)
    return True
