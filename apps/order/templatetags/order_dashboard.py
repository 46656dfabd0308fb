"""The admin dashboard's order panel: today's orders and revenue, and what waits for staff."""

from __future__ import annotations

from django import template
from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.order.events import PAID_STATUSES, PAYABLE, OrderStatus
from apps.order.models import Order
from nexuscart.display import money

register = template.Library()


@register.simple_tag
def orders_today() -> dict:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = Order.objects.filter(created_at__gte=start).aggregate(
        placed=Count("id"),
        paid=Count("id", filter=Q(status__in=list(PAID_STATUSES))),
        revenue=Sum("total", filter=Q(status__in=list(PAID_STATUSES)), default=0),
        refunded=Sum("refunded_total", default=0),
    )
    waiting = Order.objects.aggregate(
        unpaid=Count("id", filter=Q(status__in=list(PAYABLE))),
        to_ship=Count("id", filter=Q(status=OrderStatus.PAID)),
    )
    return {
        **today,
        **waiting,
        "revenue_display": money(today["revenue"] - today["refunded"]),
        "since": start,
    }
