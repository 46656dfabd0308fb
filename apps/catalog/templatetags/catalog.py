"""Storefront template helpers: money, safe product descriptions, query-string edits."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from nexuscart import display

register = template.Library()

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")


@register.filter
def money(minor: int | None, currency: str = "USD") -> str:
    return display.money(minor, currency or "USD", none="")


def _inline(text: str) -> str:
    # Escape first, then add tags: nothing the author typed can become markup.
    html = escape(text)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return _ITALIC.sub(r"<em>\1</em>", html)


@register.filter
def render_description(source: str) -> SafeString:
    """A safe markdown subset: paragraphs, "- " bullet lists, **bold**, *italic*. Raw HTML is shown as text."""
    blocks = [b for b in re.split(r"\n\s*\n", (source or "").strip()) if b.strip()]
    out = []
    for block in blocks:
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if all(line.startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{'<br>'.join(_inline(line) for line in lines)}</p>")
    return mark_safe("\n".join(out))  # noqa: S308 -- every piece of text went through escape()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes) and the page reset."""
    query = context["request"].GET.copy()
    if "page" not in changes:
        query.pop("page", None)
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def query_toggle(context, key: str, value: str) -> str:
    """Add or remove one value of a multi-valued parameter (a facet checkbox as a link)."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    values = query.getlist(key)
    query.setlist(key, [v for v in values if v != value] if value in values else [*values, value])
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def stock_badge(in_stock: bool) -> str:
    if in_stock:
        return format_html('<span class="badge ok">{}</span>', "In stock")
    return format_html('<span class="badge out">{}</span>', "Out of stock")


_SIZE_ORDER = {s: i for i, s in enumerate(["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "2XL", "3XL"])}


def _option_key(value: object) -> tuple:
    """Sizes in wearing order, numbers by value, everything else alphabetically."""
    text = str(value)
    if text.upper() in _SIZE_ORDER:
        return (0, _SIZE_ORDER[text.upper()], "")
    try:
        return (1, float(text.split()[0].replace(",", ".")), text)
    except (ValueError, IndexError):
        return (2, 0, text.lower())


@register.simple_tag
def variant_groups(product) -> list[tuple[str, str, list]]:
    """The variant picker grouped by the first option (e.g. colour), each group sorted by the others
    (e.g. size): [(option name, group value, [variants])]. One group when there is a single option."""
    options = list(getattr(product, "options", {}) or {})
    variants = list(product.variants)
    if len(options) < 2:
        key = options[0] if options else None
        ordered = sorted(variants, key=lambda v: _option_key(v.attributes.get(key, v.name)) if key else (2, 0, v.name))
        return [("", "", ordered)]
    # Group by colour-like options and pick sizes inside a group, as shops do.
    first = next((o for o in options if "size" not in o.lower()), options[0])
    rest = [o for o in options if o != first]
    groups: dict[str, list] = {}
    for v in variants:
        groups.setdefault(str(v.attributes.get(first, "")), []).append(v)
    return [
        (first, value, sorted(members, key=lambda v: tuple(_option_key(v.attributes.get(k, "")) for k in rest)))
        for value, members in sorted(groups.items(), key=lambda item: _option_key(item[0]))
    ]


@register.simple_tag
def related_products(product, limit: int = 4) -> list:
    """Other products of the same category, newest first (the cached search read model)."""
    from apps.catalog import read_models
    from apps.catalog.search import SearchParams

    result, _ = read_models.product_search(
        params=SearchParams(category_id=product.category.id, sort="newest", page_size=limit + 1)
    )
    return [card for card in result.results if card.slug != product.slug][:limit]
