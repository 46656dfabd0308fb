"""Thin DRF views of the inventory context (the public read is in apps/inventory/hot.py)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.inventory import services
from apps.inventory.models import LedgerEntry
from nexuscart.permissions import staff_permission


class StrictInteger(serializers.IntegerField):
    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StaffStockAdjustApi(APIView):
    """POST /api/v1/staff/inventory/{sku}/adjust {delta, reason, warehouse?, kind?}: a receipt or correction.

    An unknown SKU (never announced by the catalog, never stocked) answers 404 `unknown_sku`.
    """

    permission_classes = [staff_permission("inventory.change_stock")]

    class InputSerializer(serializers.Serializer):
        delta = StrictInteger(min_value=-1_000_000, max_value=1_000_000)
        reason = serializers.CharField(max_length=500)
        warehouse = serializers.CharField(max_length=32, required=False)
        kind = serializers.ChoiceField(
            choices=[LedgerEntry.Kind.RECEIPT, LedgerEntry.Kind.CORRECTION], default=LedgerEntry.Kind.CORRECTION
        )

    def post(self, request: Request, sku: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        available = services.stock_adjust(
            sku=sku,
            delta=data.validated_data["delta"],
            reason=data.validated_data["reason"],
            actor=f"staff:{request.user.id}:{request.user.get_username()}",
            warehouse_code=data.validated_data.get("warehouse"),
            kind=data.validated_data["kind"],
        )
        return Response({"sku": sku, "available": available})
