"""Events the order context publishes (frozen dataclasses, versioned; see nexuscart.events).

Every status transition publishes one event; the aggregate is the order (Kafka key = order id).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from nexuscart.events import DomainEvent


class OrderStatus(StrEnum):
    """The order's states: the one vocabulary other contexts use instead of spelling strings."""

    CREATED = "CREATED"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


#: A payment may be started or confirmed.
PAYABLE: frozenset[OrderStatus] = frozenset({OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT})
#: The shopper, staff or the payment-timeout sweep may cancel.
CANCELLABLE: frozenset[OrderStatus] = frozenset({OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT})
#: Money was captured and some of it is still refundable.
REFUNDABLE: frozenset[OrderStatus] = frozenset(
    {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED}
)
#: Money was captured at some point (refunded or not).
PAID_STATUSES: frozenset[OrderStatus] = REFUNDABLE | {OrderStatus.REFUNDED}


@dataclass(frozen=True)
class _OrderEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "order"
    order_id: str
    user_id: int

    def aggregate_id(self) -> str:
        return self.order_id


@dataclass(frozen=True)
class OrderCreated(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderCreated"
    status: str
    lines: list[dict[str, Any]]
    subtotal: int
    discount: int
    total: int
    currency: str
    coupon_code: str | None
    flash_sale: dict[str, Any] | None


@dataclass(frozen=True)
class OrderAwaitingPayment(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderAwaitingPayment"
    total: int
    currency: str


@dataclass(frozen=True)
class OrderPaid(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderPaid"
    total: int
    currency: str
    payment_reference: str


@dataclass(frozen=True)
class OrderCancelled(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderCancelled"
    reason: str
    lines: list[dict[str, Any]]
    flash_sale: dict[str, Any] | None
    coupon_code: str | None = None
    previous_status: str = ""


@dataclass(frozen=True)
class OrderShipped(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderShipped"


@dataclass(frozen=True)
class OrderCompleted(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderCompleted"


@dataclass(frozen=True)
class OrderRefunded(_OrderEvent):
    event_type: ClassVar[str] = "order.OrderRefunded"
    refunded_total: int
    status: str
    currency: str = "USD"
