"""Thin DRF views: parse and validate input, call one service or selector, shape the output."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.order import selectors, services
from apps.order.api.serializers import cart_out, order_out
from apps.promotion import selectors as promotion_selectors
from apps.promotion import services as promotion_services
from nexuscart.bounds import BIGINT_MAX, LIST_MAX
from nexuscart.errors import ApplicationError, NotFound
from nexuscart.idempotency import idempotent
from nexuscart.jwt_auth import ActiveTokenAuthentication
from nexuscart.permissions import staff_permission

SESSION_CART_KEY = "guest_cart"
SESSION_COUPON_KEY = "guest_cart_coupon"


class StrictInteger(serializers.IntegerField):
    """Only JSON integers: "3" or 2.5 is a 400, never silently coerced."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


def _order_id(raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise NotFound(f"No order {raw}.", code="order_not_found") from None
    if not 0 < value < 2**63:
        raise NotFound(f"No order {raw}.", code="order_not_found")
    return value


# --- cart ----------------------------------------------------------------------------------
def _cart_items(request: Request) -> dict[str, int]:
    if request.user.is_authenticated:
        return selectors.cart_items_get(user_id=request.user.id)
    return dict(request.session.get(SESSION_CART_KEY, {}))


def _cart_coupon(request: Request) -> str | None:
    if request.user.is_authenticated:
        # The signed-in cart's coupon is kept by the promotion context.
        return promotion_selectors.cart_coupon_get(user_id=request.user.id)
    return request.session.get(SESSION_COUPON_KEY)


def _cart_response(request: Request, status: int = 200) -> Response:
    user_id = request.user.id if request.user.is_authenticated else None
    items, coupon = _cart_items(request), _cart_coupon(request)
    try:
        cart = services.cart_view(items=items, user_id=user_id, coupon_code=coupon)
    except ApplicationError:  # the coupon stopped applying (used up, expired, cart changed): show the cart without it
        cart = services.cart_view(items=items, user_id=user_id)
    return Response(cart_out(cart), status=status)


def _set_item(request: Request, *, sku: str, quantity: int, add: bool) -> None:
    if request.user.is_authenticated:
        services.cart_item_set(user_id=request.user.id, sku=sku, quantity=quantity, add=add)
    else:
        request.session[SESSION_CART_KEY] = services.guest_cart_item_set(
            items=_cart_items(request), sku=sku, quantity=quantity, add=add
        )


class CartApi(APIView):
    permission_classes = []

    def get(self, request: Request) -> Response:
        return _cart_response(request)


class CartItemAddApi(APIView):
    permission_classes = []

    class InputSerializer(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        quantity = StrictInteger(min_value=1, max_value=1_000_000, default=1)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _set_item(request, sku=data.validated_data["sku"], quantity=data.validated_data["quantity"], add=True)
        return _cart_response(request, status=201)


class CartItemApi(APIView):
    permission_classes = []

    class InputSerializer(serializers.Serializer):
        quantity = StrictInteger(min_value=0, max_value=1_000_000)

    def patch(self, request: Request, sku: str) -> Response:
        if sku not in _cart_items(request):
            raise NotFound(f"{sku} is not in the cart.", code="not_in_cart")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _set_item(request, sku=sku, quantity=data.validated_data["quantity"], add=False)
        return _cart_response(request)

    def delete(self, request: Request, sku: str) -> Response:
        if request.user.is_authenticated:
            services.cart_item_remove(user_id=request.user.id, sku=sku)
        else:
            items = _cart_items(request)
            if items.pop(sku, None) is None:
                raise NotFound(f"{sku} is not in the cart.", code="not_in_cart")
            request.session[SESSION_CART_KEY] = items
        return Response(status=204)


class CartCouponApi(APIView):
    """POST {code}: quote it against the cart (404 unknown, 409 unusable) and keep it; DELETE drops it."""

    permission_classes = []

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=40)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_id = request.user.id if request.user.is_authenticated else None
        services.cart_view(items=_cart_items(request), user_id=user_id, coupon_code=data.validated_data["code"])
        if user_id is not None:
            promotion_services.cart_coupon_set(user_id=user_id, code=data.validated_data["code"])
        else:
            code = promotion_selectors.coupon_get(code=data.validated_data["code"])
            if code is None:
                raise NotFound(f"No coupon {data.validated_data['code']!r}.", code="coupon_not_found")
            request.session[SESSION_COUPON_KEY] = code.code
        return _cart_response(request)

    def delete(self, request: Request) -> Response:
        if request.user.is_authenticated:
            promotion_services.cart_coupon_clear(user_id=request.user.id)
        else:
            request.session.pop(SESSION_COUPON_KEY, None)
        return _cart_response(request)


# --- orders --------------------------------------------------------------------------------
class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictInteger(min_value=1, max_value=1_000_000)


class OrderCreateInputSerializer(serializers.Serializer):
    items = OrderLineInputSerializer(many=True, required=False, allow_empty=False, max_length=LIST_MAX)
    shipping_address_id = StrictInteger(min_value=1, max_value=BIGINT_MAX)
    coupon_code = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    # standard / express / overnight (the staff-edited table): adds delivery and the state's sales tax.
    shipping_method = serializers.CharField(max_length=32, required=False, allow_null=True, allow_blank=True)


def _create_order(request: Request) -> Response:
    data = OrderCreateInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    items = data.validated_data.get("items")
    order = services.order_create(
        user_id=request.user.id,
        lines=None if items is None else [services.OrderLineInput(i["sku"], i["quantity"]) for i in items],
        shipping_address_id=data.validated_data["shipping_address_id"],
        # Ordering the cart: the coupon applied to it, unless the request names one.
        coupon_code=data.validated_data.get("coupon_code") or (None if items is not None else _cart_coupon(request)),
        shipping_method=data.validated_data.get("shipping_method") or None,
    )
    if items is None and request.user.is_authenticated:
        promotion_services.cart_coupon_clear(user_id=request.user.id)
    return Response(order_out(order), status=201)


class OrderListCreateApi(APIView):
    # No user row read per checkout: the token plus the inactive-user set (nexuscart.jwt_auth).
    authentication_classes = [ActiveTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        page = selectors.order_list(
            user_id=request.user.id, cursor=request.query_params.get("cursor"), limit=settings.ORDER_PAGE_SIZE
        )
        next_url = None
        if page.next_cursor:
            next_url = request.build_absolute_uri(f"{request.path}?cursor={page.next_cursor}")
        return Response({"results": [order_out(o, with_history=False) for o in page.results], "next": next_url})

    @idempotent
    def post(self, request: Request) -> Response:
        return _create_order(request)


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get(order_id=_order_id(order_id), user_id=request.user.id)
        if order is None:
            raise NotFound(f"No order {order_id}.", code="order_not_found")
        return Response(order_out(order))


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, order_id: str) -> Response:
        order = services.order_cancel(
            order_id=_order_id(order_id),
            user_id=request.user.id,
            actor=f"user:{request.user.id}",
            reason="cancelled by the shopper",
        )
        return Response(order_out(order))


class StaffOrderShipApi(APIView):
    permission_classes = [staff_permission("order.change_order")]

    def post(self, request: Request, order_id: str) -> Response:
        order = services.order_ship(order_id=_order_id(order_id), actor=f"staff:{request.user.id}")
        return Response(order_out(order))


class StaffOrderCompleteApi(APIView):
    permission_classes = [staff_permission("order.change_order")]

    def post(self, request: Request, order_id: str) -> Response:
        order = services.order_complete(order_id=_order_id(order_id), actor=f"staff:{request.user.id}")
        return Response(order_out(order))
