"""Catalog and search API (anonymous read). Thin: validate the query, call one selector, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog import selectors
from apps.catalog.api.params import (
    ProductListParams,
    SearchQueryParams,
    product_list_params_from,
    search_params_from,
)


class _CategoryRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class _ImageOut(serializers.Serializer):
    url = serializers.CharField()
    alt = serializers.CharField()


class _CardOut(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField()
    category_id = serializers.IntegerField()
    category_path = serializers.CharField()
    price_min = serializers.IntegerField(allow_null=True)
    price_max = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    image = serializers.SerializerMethodField()

    def get_image(self, card) -> dict:
        return {"url": card.image_url, "alt": card.image_alt}


class CategoryTreeApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        children = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([node.as_dict() for node in selectors.category_tree_get().roots])


class ProductListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        results = _CardOut(many=True)
        next = serializers.CharField(allow_null=True)
        next_cursor = serializers.CharField(allow_null=True)

    @extend_schema(parameters=[ProductListParams], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        params = product_list_params_from(request.query_params)
        page = selectors.product_list(**params)
        next_url = None
        if page.next_cursor:
            query = request.query_params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            self.OutputSerializer({"results": page.results, "next": next_url, "next_cursor": page.next_cursor}).data
        )


class ProductDetailApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        class VariantOut(serializers.Serializer):
            sku = serializers.CharField()
            name = serializers.CharField()
            price = serializers.IntegerField()
            currency = serializers.CharField()
            attributes = serializers.DictField()
            available = serializers.IntegerField()
            in_stock = serializers.BooleanField()

        id = serializers.IntegerField()
        slug = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        category = _CategoryRef()
        breadcrumbs = _CategoryRef(many=True)
        attributes = serializers.DictField()
        images = _ImageOut(many=True)
        variants = VariantOut(many=True)
        price_min = serializers.IntegerField(allow_null=True)
        in_stock = serializers.BooleanField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(self.OutputSerializer(selectors.product_detail_get(slug=slug)).data)


class SearchApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        class HitOut(_CardOut):
            score = serializers.FloatField(allow_null=True)

        results = HitOut(many=True)
        total = serializers.IntegerField()
        page = serializers.IntegerField()
        page_size = serializers.IntegerField()
        pages = serializers.IntegerField()
        backend = serializers.CharField()
        facets = serializers.SerializerMethodField()

        def get_facets(self, result) -> dict:
            return {
                "category": [
                    {"id": f.id, "name": f.name, "slug": f.slug, "count": f.count} for f in result.category_facets
                ],
                "price": [
                    {"key": f.key, "label": f.label, "min": f.min, "max": f.max, "count": f.count}
                    for f in result.price_facets
                ],
                "attributes": [
                    {"name": f.name, "values": [{"value": v, "count": c} for v, c in f.values]}
                    for f in result.attribute_facets
                ],
            }

    @extend_schema(parameters=[SearchQueryParams], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        tree = selectors.category_tree_get()
        result = selectors.product_search(params=search_params_from(request.query_params, tree=tree))
        return Response(self.OutputSerializer(result).data)
