"""Production profile: secrets must come from the environment, HTTPS everywhere.

The process refuses to start (ImproperlyConfigured at import) rather than fall back to a
development default: a public Stripe webhook secret lets anyone sign "payment succeeded" for
their own PaymentIntent, console email prints password-reset links into the logs, and a public
/metrics maps the deployment for an attacker. tests: nexuscart/tests/test_production_settings.py.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import PAYPAL_CLIENT_ID, SIMPLE_JWT
from config.settings.env import env


def required(name: str, why: str) -> str:
    value = env(name, default="")
    if not value.strip():
        raise ImproperlyConfigured(f"{name} must be set in production ({why}).")
    return value


DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # no default: a missing secret stops the process
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# --- Secrets that have development defaults in base.py: none of those defaults here ----------
STRIPE_API_KEY = required("STRIPE_API_KEY", "the Stripe secret key")
STRIPE_WEBHOOK_SECRET = required("STRIPE_WEBHOOK_SECRET", "webhook signatures are checked with it")
if PAYPAL_CLIENT_ID:
    PAYPAL_WEBHOOK_ID = required("PAYPAL_WEBHOOK_ID", "PayPal is configured; its webhooks are verified against it")
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": required("JWT_SIGNING_KEY", "API tokens are signed with it, not SECRET_KEY")}
METRICS_TOKEN = required("METRICS_TOKEN", "/metrics answers only `Authorization: Bearer <METRICS_TOKEN>`")

# Mail really leaves (password resets, verification); console/file/memory back ends are refused.
_email = env.email_url("EMAIL_URL", default="") if env("EMAIL_URL", default="").strip() else None
if _email is None:
    raise ImproperlyConfigured("EMAIL_URL must be set in production (e.g. smtp+tls://user:password@host:587).")
if _email["EMAIL_BACKEND"].rsplit(".", 2)[-2] in {"console", "filebased", "locmem", "dummy"}:
    raise ImproperlyConfigured(f"EMAIL_URL must deliver mail in production, not {_email['EMAIL_BACKEND']}.")
globals().update(_email)  # EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS, ...
EMAIL_BACKEND = _email["EMAIL_BACKEND"]

# The storefront payment test mode (server-side confirmation, a webhook we sign ourselves) never
# runs here, whatever the key looks like.
if env.bool("PAYMENT_TEST_MODE", default=False):
    raise ImproperlyConfigured("PAYMENT_TEST_MODE cannot be on in production.")
PAYMENT_TEST_MODE = False

# Staff sign in to the admin with a second factor (TOTP, allauth.mfa).
ADMIN_REQUIRE_MFA = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
