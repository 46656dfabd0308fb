"""Storefront template helpers: money, safe product descriptions, query-string edits."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")


@register.filter
def money(minor: int | None, currency: str = "USD") -> str:
    if minor is None:
        return ""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(int(minor)), 100)
    symbol = "$" if currency in ("USD", "", None) else f"{currency} "
    return f"{sign}{symbol}{whole:,}.{cents:02d}"


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
