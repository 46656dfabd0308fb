"""The API's plain-dict JSON (api/views.py card_json, search_json) is byte for byte what its DRF
serializers (the schema) would render."""

from __future__ import annotations

import pytest
from rest_framework.renderers import JSONRenderer

from apps.catalog import selectors
from apps.catalog.api.views import ProductListApi, SearchApi, card_json, search_json
from apps.catalog.search import SearchParams

pytestmark = pytest.mark.django_db
_render = JSONRenderer().render


@pytest.fixture
def indexed(shop, search_backend, reindex):
    reindex()
    return shop


@pytest.mark.parametrize(
    "params",
    [
        SearchParams(q="shirt"),
        SearchParams(q="wireles hedphones"),  # typos: fuzzy hits, scores
        SearchParams(sort="price", page_size=2, page=2),
        SearchParams(q="nothing-matches-this"),
    ],
)
def test_search_json_is_the_serializers_output(indexed, params):
    result = selectors.product_search(params=params)
    assert _render(search_json(result)) == _render(SearchApi.OutputSerializer(result).data)


def test_list_cards_are_the_serializers_output(indexed):
    page = selectors.product_list(sort="price", limit=3)
    assert page.results
    expected = ProductListApi.OutputSerializer({"results": page.results, "next": None, "next_cursor": None}).data
    assert _render({"results": [card_json(c) for c in page.results], "next": None, "next_cursor": None}) == _render(
        expected
    )
