"""Catalog and search API (anonymous read). Thin: validate the query, call one selector, render.

Every GET here answers from a cached representation (apps/catalog/readcache.py: L1 over Redis, keyed
by versions that events bump) with a strong ETag and Last-Modified, and 304 when the client's copy
is current. Bad input is validated inside the build, so it is never cached and still answers
problem+json.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog import read_models, readcache, selectors
from apps.catalog.api.params import (
    ProductListParams,
    SearchQueryParams,
    product_list_params_from,
    search_params_from,
)
from apps.catalog.http import Rendered, rendered, request_key, respond
from apps.catalog.search import suggest

# Clients revalidate every time (a change must show within a second); the 304 makes that cheap.
API_CACHE_CONTROL = "public, max-age=0, must-revalidate"
_json = JSONRenderer()


def _json_rendered(data) -> Rendered:
    return rendered(_json.render(data), "application/json")


def _request_key(request: Request, *, host: bool = True) -> str:
    """`host`: the answer has absolute links (`next`) and is kept per host; without, per path."""
    pairs = ((k, v) for k, values in request.query_params.lists() for v in values)
    return request_key(f"{request.scheme}://{request.get_host()}" if host else "", request.path, pairs)


def _cached(request: Request, name: str, build, *, scopes=(readcache.CATALOG,), host: bool = True) -> HttpResponse:
    rep = readcache.get_or_build(name, _request_key(request, host=host), build, scopes=scopes)
    return respond(request, rep, cache_control=API_CACHE_CONTROL)


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


def card_json(card, *, score: bool = False) -> dict:
    """_CardOut (HitOut with `score`) as a plain dict: the same JSON, without DRF's per-field cost
    (a 100-result search spent most of its Python time in the serializer). The serializers stay the
    schema; apps/catalog/tests/test_api_json.py holds both to the same output."""
    out = {
        "id": int(card.id),
        "slug": str(card.slug),
        "name": str(card.name),
        "url": str(card.url),
        "category_id": int(card.category_id),
        "category_path": str(card.category_path),
        "price_min": None if card.price_min is None else int(card.price_min),
        "price_max": None if card.price_max is None else int(card.price_max),
        "currency": str(card.currency),
        "in_stock": bool(card.in_stock),
        "image": {"url": card.image_url, "alt": card.image_alt},
    }
    if score:
        out["score"] = None if card.score is None else float(card.score)
    return out


def search_json(result) -> dict:
    """SearchApi.OutputSerializer's output as a plain dict (see card_json)."""
    return {
        "results": [card_json(card, score=True) for card in result.results],
        "total": int(result.total),
        "page": int(result.page),
        "page_size": int(result.page_size),
        "pages": int(result.pages),
        "backend": str(result.backend),
        "facets": SearchApi.OutputSerializer.facets_of(result),
    }


class CategoryTreeApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        children = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        roots = lambda: selectors.category_tree_get().roots  # noqa: E731
        return _cached(
            request,
            "api-categories",
            lambda: _json_rendered([n.as_dict() for n in roots()]),
            scopes=(readcache.STRUCTURE,),
        )


class ProductListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        results = _CardOut(many=True)
        next = serializers.CharField(allow_null=True)
        next_cursor = serializers.CharField(allow_null=True)

    @extend_schema(parameters=[ProductListParams], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return _cached(request, "api-products", lambda: self._build(request))

    def _build(self, request: Request) -> Rendered:
        params = product_list_params_from(request.query_params)
        page = selectors.product_list(**params)
        read_models.shows(page.results)
        read_models.by_price(
            sort=params.get("sort"),
            category_id=params.get("category_id"),
            min_price=params.get("min_price"),
            max_price=params.get("max_price"),
        )
        next_url = None
        if page.next_cursor:
            query = request.query_params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return _json_rendered(
            {"results": [card_json(card) for card in page.results], "next": next_url, "next_cursor": page.next_cursor}
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
        # No absolute links: one cached answer whatever the host, which the catalog's handler can
        # build right after an event (product_detail_rebuild) instead of the next request.
        return _cached(
            request,
            "api-product",
            lambda: _product_detail_json(slug),
            scopes=read_models.product_scopes(slug),
            host=False,
        )


def _product_detail_json(slug: str) -> Rendered:
    return _json_rendered(ProductDetailApi.OutputSerializer(selectors.product_detail_get(slug=slug)).data)


def product_detail_rebuild(*, slug: str) -> None:
    """Build GET /api/v1/products/{slug} under the current versions now (after an event's bump), so the
    first request after a change is a hit on the thin ASGI layer instead of a rebuild on the web servers."""
    readcache.rebuild(
        "api-product",
        request_key("", f"/api/v1/products/{slug}", []),
        lambda: _product_detail_json(slug),
        scopes=read_models.product_scopes(slug),
    )


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
            return self.facets_of(result)

        @staticmethod
        def facets_of(result) -> dict:
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
        # Two levels: this exact request's JSON (what the hot path serves too), then the result of
        # the same question however it was typed (read_models.search_key).
        inner_hit = False

        def build() -> Rendered:
            nonlocal inner_hit
            params = search_params_from(request.query_params, tree=selectors.category_tree_get())
            result, inner_hit = read_models.product_search(params=params)
            return _json_rendered(search_json(result))

        rep, hit = readcache.lookup(
            "api-search", _request_key(request), build, ttl=settings.CATALOG_SEARCH_CACHE_SECONDS
        )
        response = respond(request, rep, cache_control=API_CACHE_CONTROL)
        # Whether the answer was cached, for clients and for the benchmark's hit ratio.
        response["X-Cache"] = "hit" if hit or inner_hit else "miss"
        return response


class SuggestApi(APIView):
    """GET /api/v1/search/suggest?q=: product names for the search box (prefix, typo tolerant)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=True)
        limit = serializers.IntegerField(min_value=1, max_value=20, default=suggest.DEFAULT_LIMIT)

    class OutputSerializer(serializers.Serializer):
        class SuggestionOut(serializers.Serializer):
            name = serializers.CharField()
            slug = serializers.CharField()
            url = serializers.CharField()

        q = serializers.CharField()
        suggestions = SuggestionOut(many=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        q, limit = suggest.normalize(data.validated_data["q"]), data.validated_data["limit"]

        def build() -> Rendered:
            found = suggest.suggest(q=q, limit=limit)
            return _json_rendered(self.OutputSerializer({"q": q, "suggestions": found}).data)

        ttl = settings.CATALOG_SEARCH_CACHE_SECONDS
        rep = readcache.get_or_build("api-suggest", _request_key(request), build, ttl=ttl)
        return respond(request, rep, cache_control=API_CACHE_CONTROL)
