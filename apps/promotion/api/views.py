"""Flash-sale reads and staff endpoints (Django/DRF). The token, purchase and status endpoints are hot (hot.py)."""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.promotion import selectors, services
from nexuscart.bounds import BIGINT_MAX, INT_MAX, LIST_MAX
from nexuscart.errors import NotFound
from nexuscart.permissions import staff_permission


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    price = serializers.IntegerField()
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    per_user_limit = serializers.IntegerField()
    remaining = serializers.IntegerField()
    status = serializers.CharField()


class FlashSaleListApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(CampaignOutput(selectors.campaign_list(), many=True).data)


class FlashSaleDetailApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get(campaign_id=campaign_id)
        if campaign is None:
            raise NotFound(f"No flash sale {campaign_id}.")
        return Response(CampaignOutput(campaign).data)


class StaffFlashSaleCreateApi(APIView):
    permission_classes = [staff_permission("promotion.add_flashsalecampaign")]

    class InputSerializer(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        price = serializers.IntegerField(min_value=0, max_value=INT_MAX)
        quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        per_user_limit = serializers.IntegerField(min_value=1, max_value=1000)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.flash_sale_campaign_create(**data.validated_data, actor=request.user.email)
        return Response(CampaignOutput(campaign).data, status=status.HTTP_201_CREATED)


class StaffFlashSaleWarmupApi(APIView):
    permission_classes = [staff_permission("promotion.change_flashsalecampaign")]

    def post(self, request, campaign_id: int):
        campaign = services.flash_sale_campaign_warmup(campaign_id=campaign_id)
        return Response(CampaignOutput(campaign).data)


class CouponOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.IntegerField()
    currency = serializers.CharField()
    min_spend = serializers.IntegerField()
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    max_uses = serializers.IntegerField(allow_null=True)
    max_uses_per_user = serializers.IntegerField(allow_null=True)
    used_count = serializers.IntegerField()
    eligible_category_ids = serializers.ListField(child=serializers.IntegerField())
    eligible_skus = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()


class StaffCouponCreateApi(APIView):
    permission_classes = [staff_permission("promotion.add_coupon")]

    class InputSerializer(serializers.Serializer):
        code = serializers.RegexField(r"^[A-Za-z0-9_-]{3,40}$")
        kind = serializers.ChoiceField(choices=["percent", "amount"])
        value = serializers.IntegerField(min_value=1, max_value=INT_MAX)
        min_spend = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False, default=0)
        starts_at = serializers.DateTimeField(required=False, allow_null=True)
        ends_at = serializers.DateTimeField(required=False, allow_null=True)
        max_uses = serializers.IntegerField(min_value=1, max_value=INT_MAX, required=False, allow_null=True)
        max_uses_per_user = serializers.IntegerField(min_value=1, max_value=INT_MAX, required=False, allow_null=True)
        eligible_category_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX), required=False, max_length=LIST_MAX
        )
        eligible_skus = serializers.ListField(
            child=serializers.CharField(max_length=64), required=False, max_length=LIST_MAX
        )

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = services.coupon_create(**data.validated_data)
        return Response(CouponOutput(coupon).data, status=status.HTTP_201_CREATED)
