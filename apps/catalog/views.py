"""Storefront pages of the catalog (server-rendered, thin: data comes from selectors)."""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from rest_framework.exceptions import ValidationError

from apps.catalog import page_cache, read_models, readcache, selectors
from apps.catalog.api.params import search_params_from
from apps.catalog.page_cache import anonymous_page
from apps.catalog.readcache import CATALOG
from apps.catalog.search import MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SORTS
from nexuscart.errors import ApplicationError, NotFound

SORT_LABELS = {
    "relevance": "Best match",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "newest": "Newest",
}


def _catalog_wide(*args, **kwargs) -> tuple[str, ...]:
    return (CATALOG,)


@anonymous_page(_catalog_wide)
def home(request: HttpRequest) -> HttpResponse:
    tree = selectors.category_tree_get()
    featured = [n for n in tree.roots if n.is_featured] or tree.roots
    products = read_models.product_featured(limit=8)
    # The template's fragment cache: the catalog-wide version and those of the products it shows.
    version = readcache.stamp_of((CATALOG, *(readcache.product_scope(p.slug) for p in products)))
    return render(
        request,
        "storefront/home.html",
        page_cache.context(request, {"categories": featured[:8], "products": products, "catalog_version": version}),
    )


def _bad_request(request: HttpRequest, exc: Exception) -> HttpResponse:
    detail = exc.detail if isinstance(exc, ApplicationError) else "Some filters were not understood."
    response = render(
        request, "storefront/bad_request.html", page_cache.context(request, {"detail": detail}), status=400
    )
    return response if response.status_code == 400 else HttpResponseBadRequest(detail)


def _page_number(raw: str | None) -> int | None:
    """A page number from the query string; anything but a positive whole number means page 1."""
    try:
        page = int(raw or "1")
    except ValueError:
        return None
    return page if page >= 1 else None


def _page_size(query) -> int:
    try:
        return max(1, min(MAX_PAGE_SIZE, int(query.get("page_size") or 24)))
    except ValueError:
        return 24


def _listing(request: HttpRequest, *, category: selectors.CategoryNode | None, template: str) -> HttpResponse:
    tree = selectors.category_tree_get()
    query = request.GET.copy()
    if "page" in query and _page_number(query.get("page")) is None:
        # ?page=abc or ?page=0: the first page, not an error page (links in the wild get mangled).
        query["page"] = "1"
    try:
        params = search_params_from(query, tree=tree, category_id=category.id if category else None)
    except (ValidationError, ApplicationError) as exc:
        if isinstance(exc, ValidationError) and isinstance(exc.detail, dict) and "page" in exc.detail:
            # Beyond the result window: the deepest page that can be shown (then, if the results
            # are fewer, the redirect below brings the shopper to the last one).
            query["page"] = str(max(1, MAX_RESULT_WINDOW // _page_size(query)))
            return redirect(f"{request.path}?{query.urlencode()}")
        return _bad_request(request, exc)
    if not params.q and params.sort == "relevance":
        # Without a search term "Best match" means nothing: listings show the newest first, and
        # the sort box offers exactly the order that was applied.
        params = replace(params, sort="newest")
    if category is None and params.category_id is not None:
        category = tree.by_id[params.category_id]
    result, _ = read_models.product_search(params=params)
    if result.pages and params.page > result.pages:
        # ?page=99 of 23: the last page (one redirect) instead of "545 products" over an empty list.
        query["page"] = str(result.pages)
        return redirect(f"{request.path}?{query.urlencode()}")
    context = {
        "category": category,
        "breadcrumbs": tree.ancestors(category) if category else [],
        "subcategories": tree.children_of(category) if category else [],
        "params": params,
        "result": result,
        "selected_attrs": {f"{k}:{v}" for k, v in params.attributes},
        "sorts": [(s, SORT_LABELS[s]) for s in SORTS if params.q or s != "relevance"],
        "page_range": _page_window(params.page, result.pages),
    }
    return render(request, template, page_cache.context(request, context))


def _page_window(page: int, pages: int) -> list[int]:
    return list(range(max(1, page - 2), min(pages, page + 2) + 1))


@anonymous_page(_catalog_wide)
def category_page(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        category = selectors.category_resolve(ref=ref)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    if category is None:
        return redirect("/")
    return _listing(request, category=category, template="catalog/category.html")


@anonymous_page(_catalog_wide)
def search_page(request: HttpRequest) -> HttpResponse:
    return _listing(request, category=None, template="catalog/search.html")


# The page also shows the product's flash sale (promotion's template tag): promotion's
# FlashSaleChanged bumps the product's version like its own events do (handlers.py).
@anonymous_page(lambda slug: read_models.product_page_scopes(slug))
def product_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        product = read_models.product_detail(slug=slug)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    wanted = request.GET.get("sku", "")
    selected = next((v for v in product.variants if v.sku == wanted), None)
    if selected is None:
        selected = next((v for v in product.variants if v.in_stock), product.variants[0] if product.variants else None)
    return render(
        request, "catalog/product.html", page_cache.context(request, {"product": product, "selected": selected})
    )


def demo_image(request: HttpRequest, kind: str, name: str) -> HttpResponse:
    """A demo product photo (demo/images.py), from the shared cache; immutable, so browsers keep it."""
    from apps.catalog.demo import images

    data = images.image_get(kind, name)
    if data is None:
        raise Http404("No such demo image.")
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=2592000, immutable"
    return response
