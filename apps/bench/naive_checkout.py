"""The checkout benchmark's naive baseline: `POST /api/v1/bench/orders-naive` (never on a production path).

The same checkout as `POST /api/v1/orders` (validation, prices, coupon, order rows, history,
OrderCreated, Idempotency-Key) except the stock step: instead of a reservation it locks the stock
rows (SELECT ... FOR UPDATE) and deducts on hand directly, the way a first version would. So
the benchmark compares the stock protocols, everything else being equal.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.bench.naive_stock import stock_deduct_locked
from apps.order.api.serializers import order_out
from apps.order.api.views import OrderCreateInputSerializer, _cart_coupon
from apps.order.selectors import OrderSnapshot
from apps.order.services import OrderLineInput
from apps.order.services.checkout import checkout_finish, checkout_plan, checkout_write_order
from apps.order.services.common import reservation_reference
from apps.promotion import services as promotion_services
from nexuscart.idempotency import idempotent


@transaction.atomic(savepoint=False)
def naive_order_create(
    *,
    user_id: int,
    lines: list[OrderLineInput] | None,
    shipping_address_id: int,
    coupon_code: str | None = None,
    actor: str | None = None,
) -> OrderSnapshot:
    """order_create with a row-locked direct deduction in place of the reservation."""
    plan = checkout_plan(user_id=user_id, lines=lines, shipping_address_id=shipping_address_id, coupon_code=coupon_code)
    actor = actor or f"user:{user_id}"
    order, order_lines = checkout_write_order(plan, actor=actor, now=timezone.now())
    stock_deduct_locked(
        reference=reservation_reference(order.id), lines=plan.quantities, actor=actor, reason=f"order {order.id}"
    )
    return checkout_finish(plan, order, order_lines, actor=actor)


class NaiveOrderCreateApi(APIView):
    """The same request and answer as OrderListCreateApi.post, through naive_order_create."""

    permission_classes = [IsAuthenticated]

    @idempotent
    def post(self, request: Request) -> Response:
        data = OrderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data.get("items")
        order = naive_order_create(
            user_id=request.user.id,
            lines=None if items is None else [OrderLineInput(i["sku"], i["quantity"]) for i in items],
            shipping_address_id=data.validated_data["shipping_address_id"],
            coupon_code=data.validated_data.get("coupon_code")
            or (None if items is not None else _cart_coupon(request)),
        )
        if items is None:
            promotion_services.cart_coupon_clear(user_id=request.user.id)
        return Response(order_out(order), status=201)
