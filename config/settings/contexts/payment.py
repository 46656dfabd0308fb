"""Settings owned by the payment context (read from the environment through config.settings.env).

The provider credentials themselves (STRIPE_*, PAYPAL_*) are fixed names in config/settings/base.py.
"""

from config.settings.env import env

# Seconds for one provider HTTP request (connect, read); retries come on top, bounded by the deadline.
PAYMENT_PROVIDER_CONNECT_TIMEOUT = env.float("PAYMENT_PROVIDER_CONNECT_TIMEOUT", default=2.0)
PAYMENT_PROVIDER_READ_TIMEOUT = env.float("PAYMENT_PROVIDER_READ_TIMEOUT", default=10.0)
PAYMENT_RETRY_ATTEMPTS = env.int("PAYMENT_RETRY_ATTEMPTS", default=3)
PAYMENT_RETRY_BASE_DELAY = env.float("PAYMENT_RETRY_BASE_DELAY", default=0.1)
PAYMENT_RETRY_MAX_DELAY = env.float("PAYMENT_RETRY_MAX_DELAY", default=2.0)
PAYMENT_RETRY_DEADLINE = env.float("PAYMENT_RETRY_DEADLINE", default=8.0)

# Circuit breaker per provider (state shared by every process through Redis).
PAYMENT_BREAKER_FAILURE_THRESHOLD = env.int("PAYMENT_BREAKER_FAILURE_THRESHOLD", default=5)
PAYMENT_BREAKER_FAILURE_RATE = env.float("PAYMENT_BREAKER_FAILURE_RATE", default=0.5)
PAYMENT_BREAKER_MIN_CALLS = env.int("PAYMENT_BREAKER_MIN_CALLS", default=20)
PAYMENT_BREAKER_WINDOW_SECONDS = env.float("PAYMENT_BREAKER_WINDOW_SECONDS", default=60.0)
PAYMENT_BREAKER_COOLDOWN_SECONDS = env.float("PAYMENT_BREAKER_COOLDOWN_SECONDS", default=15.0)

# Stripe-Signature timestamps older than this are refused (replays inside it are deduped by event id).
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# PayPal transmissions older (or further in the future) than this are refused before verification.
PAYPAL_WEBHOOK_TOLERANCE = env.int("PAYPAL_WEBHOOK_TOLERANCE", default=300)
# Hosts a PAYPAL-CERT-URL may point at (offline verification); anything else is refused unfetched.
PAYPAL_CERT_HOSTS = env.list("PAYPAL_CERT_HOSTS", default=["api.paypal.com", "api.sandbox.paypal.com"])
PAYPAL_BRAND_NAME = env("PAYPAL_BRAND_NAME", default="NexusCart")
# Calls to PayPal's verify-webhook-signature API (nexuscart.ratelimit token buckets, issue 13 #9):
# anyone can POST a forged webhook, and each would cost one call against our PayPal quota. One
# bucket per source address, one for the whole shop; a refused delivery is a 429 (PayPal retries).
PAYPAL_WEBHOOK_VERIFY_RATE = env("PAYPAL_WEBHOOK_VERIFY_RATE", default="20/s burst 100")
PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE = env("PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE", default="5/s burst 30")

# Storefront test mode: confirm PaymentIntents server-side and deliver a signed webhook to ourselves.
# Defaults to on whenever the Stripe key is a test key; never on with a live key.
PAYMENT_TEST_MODE = env.bool("PAYMENT_TEST_MODE", default=None)
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")

# A pending payment whose webhook has not arrived after this many seconds is polled at the provider.
PAYMENT_POLL_AFTER_SECONDS = env.int("PAYMENT_POLL_AFTER_SECONDS", default=120)
PAYMENT_POLL_MAX_AGE_HOURS = env.int("PAYMENT_POLL_MAX_AGE_HOURS", default=48)

PAYMENT_BEAT_SCHEDULE = {
    "payment-poll-late": {"task": "apps.payment.tasks.poll_late_payments", "schedule": 60.0},
    "payment-submit-refunds": {"task": "apps.payment.tasks.submit_pending_refunds", "schedule": 30.0},
    "payment-cancel-requested": {"task": "apps.payment.tasks.cancel_requested_payments", "schedule": 60.0},
    "payment-reconcile": {"task": "apps.payment.tasks.reconcile_payments", "schedule": 900.0},
}
