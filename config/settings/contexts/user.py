"""Settings owned by the user context (read from the environment through config.settings.env)."""

import json

from config.settings.env import env

# --- Storefront sign-in through django-allauth (65.x): email is the login, no username --------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/account/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# "none" locally (nothing to click in a mailbox); "optional" or "mandatory" where mail is delivered.
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="none")
ACCOUNT_ADAPTER = "apps.user.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "apps.user.adapters.SocialAccountAdapter"
# A provider's email claim must not sign anyone into an existing local account by itself.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
# allauth is the only sender of mail so far (password reset); the console unless told otherwise.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="NexusCart <no-reply@nexuscart.local>")


def oidc_apps(raw: str) -> list[dict]:
    """allauth `openid_connect` apps from OIDC_PROVIDERS, a JSON list of
    {"id", "name", "server_url", "client_id", "secret", "token_auth_method"?}."""
    apps = []
    for spec in json.loads(raw or "[]"):
        apps.append(
            {
                "provider_id": spec["id"],
                "name": spec.get("name", spec["id"]),
                "client_id": spec["client_id"],
                "secret": spec.get("secret", ""),
                "settings": {
                    "server_url": spec["server_url"],
                    "token_auth_method": spec.get("token_auth_method", "client_secret_basic"),
                },
            }
        )
    return apps


# Social login (OAuth2 / OpenID Connect): one button per configured provider.
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": oidc_apps(env("OIDC_PROVIDERS", default="[]"))},
}

# --- Brute-force protection (apps.user.api.throttles, apps.user.lockout) ----------------------
# All on nexuscart.ratelimit's Redis token bucket; "N/period" refills N per period, burst N
# ("100/s burst 300" for another burst). Client addresses come from nexuscart.client_ip.
AUTH_THROTTLE_RATES = {
    # Every register / token attempt of one client address. Sized for carrier NAT: a sale's
    # crowd may sign in from one address.
    "auth_ip": env("AUTH_THROTTLE_IP_RATE", default="20/s burst 600"),
    # Refresh and logout, per user of the presented refresh token (unknown tokens: per address).
    "auth_refresh": env("AUTH_THROTTLE_REFRESH_RATE", default="30/m"),
}
# Lockout on failures only (wrong passwords), for the API, the storefront and the admin alike.
AUTH_LOCKOUT_ACCOUNT_RATE = env("AUTH_LOCKOUT_ACCOUNT_RATE", default="10/15m")
AUTH_LOCKOUT_IP_RATE = env("AUTH_LOCKOUT_IP_RATE", default="100/m burst 300")
AUTH_THROTTLE_KEY_PREFIX = env("AUTH_THROTTLE_KEY_PREFIX", default="authrl")
# allauth's own login limits are off: the lockout above is the one mechanism (its signup,
# password-reset and email limits stay).
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None}

# --- Second factor (allauth.mfa): TOTP with recovery codes; the admin requires it when
# ADMIN_REQUIRE_MFA is on (production: always) ------------------------------------------------
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="NexusCart")
ADMIN_REQUIRE_MFA = env.bool("ADMIN_REQUIRE_MFA", default=False)
