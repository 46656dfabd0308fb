"""Social login end to end: allauth's openid_connect provider against a real OpenID provider.

tests/oidc/server.mjs runs the npm `oidc-provider` on 127.0.0.1 (installed by scripts/setup). The
test walks the authorization-code flow (with PKCE) over real HTTP: storefront button -> provider
authorize -> auto sign-in and consent -> callback -> allauth exchanges the code at the provider's
token endpoint, checks the ID token against its JWKS, reads userinfo, and signs the local user in.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from allauth.socialaccount.models import SocialAccount

from apps.user.models import User
from nexuscart.models import OutboxEvent

OIDC_DIR = Path(__file__).resolve().parents[3] / "tests" / "oidc"
PROVIDER_ID = "localid"
CLIENT_ID = "nexuscart-test"
CLIENT_SECRET = "nexuscart-test-secret-0123456789"
EMAIL = "social.shopper@example.com"


@pytest.fixture
def oidc_issuer(live_server, settings) -> Iterator[str]:
    """Start the provider for this live server and point allauth at it (as OIDC_PROVIDERS would)."""
    assert (OIDC_DIR / "node_modules" / "oidc-provider").is_dir(), "run scripts/setup (npm ci in tests/oidc)"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/callback/",
        "OIDC_ACCOUNT_EMAIL": EMAIL,
        "OIDC_ACCOUNT_GIVEN_NAME": "Sofia",
        "OIDC_ACCOUNT_FAMILY_NAME": "Social",
    }
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            ["node", "server.mjs"], cwd=OIDC_DIR, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            line = process.stdout.readline()
            if not line:
                stderr.seek(0)
                pytest.fail(f"the OIDC provider did not start: {stderr.read().decode()[-2000:]}")
            issuer = json.loads(line)["issuer"]
            settings.SOCIALACCOUNT_PROVIDERS = {
                "openid_connect": {
                    "OAUTH_PKCE_ENABLED": True,
                    "APPS": [
                        {
                            "provider_id": PROVIDER_ID,
                            "name": "Local ID",
                            "client_id": CLIENT_ID,
                            "secret": CLIENT_SECRET,
                            "settings": {"server_url": issuer, "token_auth_method": "client_secret_basic"},
                        }
                    ],
                }
            }
            yield issuer
        finally:
            process.terminate()
            process.wait(timeout=10)
            process.stdout.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_social_login_creates_and_signs_in_the_local_user(live_server, oidc_issuer):
    browser = requests.Session()
    browser.trust_env = False
    login_page = browser.get(f"{live_server.url}/accounts/login/", timeout=10)
    csrf = browser.cookies["csrftoken"]

    response = browser.post(
        f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/?process=login",
        data={"csrfmiddlewaretoken": csrf},
        timeout=30,
    )

    hops = [r.url for r in response.history]
    assert "Continue with Local ID" in login_page.text
    assert any(url.startswith(f"{oidc_issuer}/auth") for url in hops), hops
    assert any(f"/accounts/oidc/{PROVIDER_ID}/login/callback/?code=" in url for url in hops), hops
    assert response.status_code == 200
    assert response.url == f"{live_server.url}/account/"
    assert EMAIL in response.text
    user = User.objects.get(email=EMAIL)
    assert (user.first_name, user.last_name, user.has_usable_password()) == ("Sofia", "Social", False)
    social = SocialAccount.objects.get(user=user)
    assert (social.provider, social.uid) == (PROVIDER_ID, "test-account-1")
    assert OutboxEvent.objects.filter(event_type="user.UserRegistered", aggregate_id=str(user.pk)).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_second_social_login_reuses_the_same_local_user(live_server, oidc_issuer):
    for _ in range(2):
        browser = requests.Session()
        browser.trust_env = False
        browser.get(f"{live_server.url}/accounts/login/", timeout=10)
        response = browser.post(
            f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/?process=login",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            timeout=30,
        )
        assert response.url == f"{live_server.url}/account/"

    assert User.objects.filter(email=EMAIL).count() == 1
    assert SocialAccount.objects.filter(provider=PROVIDER_ID).count() == 1
