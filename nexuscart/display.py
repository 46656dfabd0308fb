"""Shared display helpers for staff screens: money in words, and SKU labels across contexts.

The SKU label registry lets a lower context's admin (inventory's stock list) show and search
product names without importing the catalog, which sits above it in the layers: the catalog
registers its lookups here when its admin loads (apps/catalog/admin.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# ISO 4217 currencies without a minor unit: their integer amount is already the whole price.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV"}
)

SkuNamer = Callable[[list[str]], dict[str, str]]
SkuSearcher = Callable[[str], list[str]]
_namers: list[SkuNamer] = []
_searchers: list[SkuSearcher] = []


def money(minor: int | None, currency: str | None = "USD", *, none: str = "—") -> str:
    """Integer minor units as a price: 123456 -> "$1,234.56"; 500 JPY -> "500 JPY"; None -> `none`.

    The one money formatter: staff screens use it directly, the storefront's template filters
    (`money`, `fs_money`, and the pay page through `money`) call it with none="".
    """
    if minor is None:
        return none
    sign = "-" if minor < 0 else ""
    code = (currency or "USD").upper()
    symbol = _SYMBOLS.get(code)
    if code in ZERO_DECIMAL_CURRENCIES:
        amount = f"{abs(int(minor)):,}"
    else:
        major, cents = divmod(abs(int(minor)), 100)
        amount = f"{major:,}.{cents:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {code}"


def register_sku_lookups(*, names: SkuNamer, search: SkuSearcher) -> None:
    if names not in _namers:
        _namers.append(names)
    if search not in _searchers:
        _searchers.append(search)


def sku_names(skus: Iterable[str]) -> dict[str, str]:
    wanted = list(dict.fromkeys(skus))
    found: dict[str, str] = {}
    for namer in _namers:
        found.update(namer(wanted))
    return found


def skus_matching(text: str) -> list[str]:
    result: list[str] = []
    for search in _searchers:
        result.extend(search(text))
    return result
