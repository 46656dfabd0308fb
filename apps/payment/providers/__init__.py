"""Payment providers behind one interface (apps.payment.providers.base.PaymentProvider)."""

from __future__ import annotations

from apps.payment.providers.base import PaymentProvider

PROVIDERS = ("stripe", "paypal")


def get_provider(name: str) -> PaymentProvider:
    if name == "stripe":
        from apps.payment.providers.stripe_provider import StripeProvider

        return StripeProvider()
    if name == "paypal":
        from apps.payment.providers.paypal_provider import PayPalProvider

        return PayPalProvider()
    raise ValueError(f"unknown payment provider {name!r}")
