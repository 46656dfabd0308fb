"""The one seam to promotion's prices: automatic discounts plus the coupon, quoted for order lines."""

from __future__ import annotations

from typing import Any

from apps.promotion import services as promotion_services


def discount_quote(
    user_id: int | None, lines: list[tuple[Any, int]], coupon_code: str | None
) -> promotion_services.DiscountQuote:
    """`lines` are (catalog SKU snapshot, quantity); a bad coupon raises (404/409) for the caller."""
    return promotion_services.discount_quote(
        user_id=user_id,
        lines=[
            promotion_services.DiscountLine(sku=s.sku, quantity=q, unit_price=s.price, category_ids=s.category_ids)
            for s, q in lines
        ],
        coupon_code=coupon_code,
    )
