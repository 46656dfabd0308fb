"""Thin DRF views: payments for an order, provider webhooks, staff refunds."""

from __future__ import annotations

from django.db import transaction
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
from nexuscart.errors import problem_response
from nexuscart.idempotency import HEADER, idempotent


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
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pay_page = request.build_absolute_uri(reverse("payment:pay", args=[order_id]))
        payment = services.payment_create(
            order_id=order_id,
            user_id=request.user.pk,
            provider=data.validated_data["provider"],
            return_url=request.build_absolute_uri(reverse("payment:paypal-return", args=[order_id])),
            cancel_url=pay_page,
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
            result = services.webhook_receive(provider=self.provider, body=request.body, headers=request.headers)
        except base.WebhookInvalid as exc:
            return problem_response(400, "invalid_webhook", str(exc))
        return Response({"received": True, "duplicate": result.duplicate, "outcome": result.outcome})


class StripeWebhookApi(_WebhookApi):
    provider = "stripe"


class PayPalWebhookApi(_WebhookApi):
    provider = "paypal"


class StaffRefundApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField(required=False, allow_null=True, min_value=1)
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
        # refunds twice); without it the captured-minus-refunded cap still holds.
        if request.headers.get(HEADER):
            return self._idempotent_post(request, order_id)
        with transaction.atomic():
            return self._refund(request, order_id)

    @idempotent
    def _idempotent_post(self, request: Request, order_id: int) -> Response:
        return self._refund(request, order_id)

    def _refund(self, request: Request, order_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.refund_create(
            order_id=order_id,
            amount=data.validated_data.get("amount"),
            requested_by=f"staff:{request.user.pk}:{request.user.get_username()}",
            reason=data.validated_data["reason"] or "staff refund (API)",
            idempotency_key=f"api:{request.user.pk}:{request.headers[HEADER]}" if request.headers.get(HEADER) else None,
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
        return Response(body, status=status.HTTP_200_OK if result.confirmed else status.HTTP_202_ACCEPTED)
