"""Query-string validation shared by the API and the storefront pages (bad input -> 400, never 500)."""

from __future__ import annotations

from rest_framework import serializers

from apps.catalog.search import MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SORTS, SearchParams
from apps.catalog.selectors import LIST_SORTS, CategoryTree, category_resolve
from nexuscart.errors import ApplicationError, NotFound

MAX_MONEY = 100_000_000


class _Filters(serializers.Serializer):
    # An id or a slug path, ASCII only (slugs are): "¹".isdigit() is true but int("¹") raises.
    category = serializers.RegexField(r"^[-a-zA-Z0-9_/]*$", required=False, allow_blank=True, max_length=300)
    min_price = serializers.IntegerField(required=False, min_value=0, max_value=MAX_MONEY)
    max_price = serializers.IntegerField(required=False, min_value=0, max_value=MAX_MONEY)
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_price": "must not be greater than max_price"})
        return attrs


class ProductListParams(_Filters):
    sort = serializers.ChoiceField(choices=sorted(LIST_SORTS), required=False, default="newest")
    cursor = serializers.CharField(required=False, max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=24)


class SearchQueryParams(_Filters):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    sort = serializers.ChoiceField(choices=SORTS, required=False, default="relevance")
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RESULT_WINDOW, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=24)
    attr = serializers.ListField(
        child=serializers.RegexField(r"^[^:]{1,80}:.{1,120}$", max_length=201), required=False, max_length=20
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if attrs.get("page", 1) * attrs.get("page_size", 24) > MAX_RESULT_WINDOW:
            raise serializers.ValidationError({"page": f"only the first {MAX_RESULT_WINDOW} results can be paged"})
        return attrs


def _query_data(query_dict) -> dict:
    data = {k: v for k, v in query_dict.items() if k != "attr"}
    if "attr" in query_dict:
        data["attr"] = query_dict.getlist("attr")
    # Empty form fields ("min_price=") mean "no filter", as browsers submit them.
    return {k: v for k, v in data.items() if v not in ("", [])}


def _category_id(ref: str | None, tree: CategoryTree | None) -> int | None:
    try:
        node = category_resolve(ref=ref, tree=tree)
    except NotFound as exc:
        raise ApplicationError(exc.detail, code="unknown_category") from exc
    return node.id if node else None


def search_params_from(query_dict, *, tree: CategoryTree | None = None, category_id: int | None = None) -> SearchParams:
    params = SearchQueryParams(data=_query_data(query_dict))
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return SearchParams(
        q=data["q"].strip(),
        category_id=category_id if category_id is not None else _category_id(data.get("category"), tree),
        min_price=data.get("min_price"),
        max_price=data.get("max_price"),
        in_stock=data.get("in_stock"),
        attributes=tuple(tuple(a.split(":", 1)) for a in data.get("attr", [])),
        sort=data["sort"],
        page=data["page"],
        page_size=data["page_size"],
    )


def product_list_params_from(query_dict, *, tree: CategoryTree | None = None) -> dict:
    params = ProductListParams(data=_query_data(query_dict))
    params.is_valid(raise_exception=True)
    data = dict(params.validated_data)
    data["category_id"] = _category_id(data.pop("category", None), tree)
    return data
