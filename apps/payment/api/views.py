"""Thin DRF views: payments for an order, provider webhooks, staff refunds."""

from __future__ import annotations

import hashlib

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.order import selectors as order_selectors
from apps.payment import services
from apps.payment.providers import PROVIDERS, base
from nexuscart import client_ip
from nexuscart.bounds import BIGINT_MAX
from nexuscart.errors import problem_response
from nexuscart.idempotency import HEADER, require_key
from nexuscart.permissions import staff_permission


class PaymentOutput(serializers.Serializer):
    id = serializers.CharField()
    order_id = serializers.CharField()
    provider = serializers.CharField()
    provider_reference = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    client_secret = serializers.CharField(allow_null=True)
    approval_url = serializers.CharField(allow_null=True)


def payment_output(payment) -> dict:
    data = PaymentOutput(payment).data
    data["client_secret"] = payment.client_secret or None
    data["approval_url"] = payment.approval_url or None
    if payment.provider == "stripe":
        data.pop("approval_url")
    else:
        data.pop("client_secret")
    return data


class PaymentCreateApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        provider = serializers.ChoiceField(choices=PROVIDERS)

        class Meta:
            ref_name = "PaymentCreateInput"

    @extend_schema(
        request=InputSerializer,
        responses={201: PaymentOutput},
        parameters=[OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        summary="Create (or return) the payment of an order awaiting payment",
    )
    def post(self, request: Request, order_id: int) -> Response:
        # Not nexuscart.idempotency's decorator: it holds one transaction across the view, and
        # the provider must be called with none open. The payment row keeps the key instead
        # (same key: the same payment back; another request under it: 422).
        key = require_key(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pay_page = request.build_absolute_uri(reverse("payment:pay", args=[order_id]))
        payment = services.payment_create(
            order_id=order_id,
            user_id=request.user.pk,
            provider=data.validated_data["provider"],
            return_url=request.build_absolute_uri(reverse("payment:paypal-return", args=[order_id])),
            cancel_url=pay_page,
            request_key=key,
        )
        return Response(payment_output(payment), status=status.HTTP_201_CREATED)


class _WebhookApi(APIView):
    """No session or JWT: the provider's signature is the authentication (and CSRF does not apply)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    provider = ""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT}, summary="Provider webhook")
    def post(self, request: Request) -> Response:
        try:
            result = services.webhook_receive(
                provider=self.provider,
                body=request.body,
                headers=request.headers,
                source=client_ip.from_meta(request.META),
            )
        except base.WebhookInvalid as exc:
            return problem_response(400, "invalid_webhook", str(exc))
        except base.WebhookThrottled as exc:
            response = problem_response(429, "webhook_throttled", str(exc), retry_after=exc.retry_after)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return Response({"received": True, "duplicate": result.duplicate, "outcome": result.outcome})


class StripeWebhookApi(_WebhookApi):
    provider = "stripe"


class PayPalWebhookApi(_WebhookApi):
    provider = "paypal"


class StaffRefundApi(APIView):
    permission_classes = [staff_permission("payment.add_refund")]

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX)
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

        class Meta:
            ref_name = "StaffRefundInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)],
        summary="Refund (part of) a paid order; 202 while the provider has not confirmed",
    )
    def post(self, request: Request, order_id: int) -> Response:
        # Idempotency-Key is honoured when sent (recommended: a retried partial refund then never
        # refunds twice, and a refund whose provider answer was lost is resent under the same
        # provider key); without it the captured-minus-refunded cap still holds. The refund row
        # itself is the stored request (no transaction around the view: the provider is called
        # with none open).
        key = require_key(request) if request.headers.get(HEADER) else None
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.refund_create(
            order_id=order_id,
            amount=data.validated_data.get("amount"),
            requested_by=f"staff:{request.user.pk}:{request.user.get_username()}",
            reason=data.validated_data["reason"] or "staff refund (API)",
            idempotency_key=_refund_key(request.user.pk, key) if key else None,
        )
        body = order_selectors.order_as_dict(result.order, with_history=False)
        body["refund"] = {
            "id": str(result.refund.id),
            "amount": result.refund.amount,
            "currency": result.refund.currency,
            "status": result.refund.status,
            "requested_by": result.refund.requested_by,
            "reason": result.refund.reason,
        }
        response = Response(body, status=status.HTTP_200_OK if result.confirmed else status.HTTP_202_ACCEPTED)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _refund_key(user_id: int, key: str) -> str:
    """The refund row's key, scoped to the staff user; long keys hashed to fit the column."""
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"api:{user_id}:{key}"
