"""Social-login providers come from the OIDC_PROVIDERS environment variable."""

from __future__ import annotations

import json

from config.settings.contexts.user import oidc_apps


def test_oidc_providers_json_becomes_allauth_openid_connect_apps():
    raw = json.dumps(
        [
            {"id": "okta", "name": "Okta", "server_url": "https://id.example.com", "client_id": "a", "secret": "b"},
            {
                "id": "kc",
                "server_url": "https://kc.example.com/realms/x",
                "client_id": "c",
                "token_auth_method": "client_secret_post",
            },
        ]
    )

    apps = oidc_apps(raw)

    assert apps == [
        {
            "provider_id": "okta",
            "name": "Okta",
            "client_id": "a",
            "secret": "b",
            "settings": {"server_url": "https://id.example.com", "token_auth_method": "client_secret_basic"},
        },
        {
            "provider_id": "kc",
            "name": "kc",
            "client_id": "c",
            "secret": "",
            "settings": {"server_url": "https://kc.example.com/realms/x", "token_auth_method": "client_secret_post"},
        },
    ]


def test_no_oidc_providers_by_default():
    assert oidc_apps("") == []
