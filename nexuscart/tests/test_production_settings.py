"""config.settings.production refuses to start on a development default (issue 13 #2).

Each case runs `manage.py check --deploy` in a child process under the production profile with a
complete environment minus (or plus) one thing, and expects a refusal naming it.
"""

from __future__ import annotations

import subprocess

import pytest

pytestmark = [pytest.mark.django_db]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "a-long-random-production-secret-9f8e7d6c5b4a39281716151413121110",
    "JWT_SIGNING_KEY": "another-long-random-jwt-signing-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "ALLOWED_HOSTS": "shop.example.com",
    "STRIPE_API_KEY": "sk_live_0123456789abcdefghijklmn",
    "STRIPE_WEBHOOK_SECRET": "whsec_9f8e7d6c5b4a39281716151413121110",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    "METRICS_TOKEN": "metrics-token-5b4a39281716151413121110",
}
# Whatever the developer's shell exports must not make a case pass by accident.
_SCRUB = ("PAYPAL_CLIENT_ID", "PAYPAL_WEBHOOK_ID", "PAYMENT_TEST_MODE", "EMAIL_BACKEND", *PRODUCTION_ENV)


def _check(manage_py, subprocess_env, *, drop: str | None = None, **extra: str) -> subprocess.CompletedProcess:
    env = subprocess_env()
    for name in _SCRUB:
        env.pop(name, None)
    env.update(PRODUCTION_ENV)
    if drop:
        env.pop(drop)
    env.update(extra)
    return subprocess.run(
        [*manage_py, "check", "--deploy", "--fail-level", "WARNING"], env=env, capture_output=True, timeout=120
    )


def test_the_complete_production_environment_passes_the_deploy_checks(manage_py, subprocess_env):
    result = _check(manage_py, subprocess_env)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert b"no issues" in result.stdout


REQUIRED = ["SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "EMAIL_URL", "METRICS_TOKEN", "JWT_SIGNING_KEY"]


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without(missing, manage_py, subprocess_env):
    result = _check(manage_py, subprocess_env, drop=missing)
    assert result.returncode != 0
    assert missing.encode() in result.stderr


def test_an_empty_value_is_missing_too(manage_py, subprocess_env):
    result = _check(manage_py, subprocess_env, STRIPE_WEBHOOK_SECRET="  ")
    assert result.returncode != 0
    assert b"STRIPE_WEBHOOK_SECRET" in result.stderr


def test_paypal_configured_without_its_webhook_id_is_refused(manage_py, subprocess_env):
    refused = _check(manage_py, subprocess_env, PAYPAL_CLIENT_ID="paypal-client", PAYPAL_CLIENT_SECRET="s")
    with_id = _check(
        manage_py, subprocess_env, PAYPAL_CLIENT_ID="paypal-client", PAYPAL_CLIENT_SECRET="s", PAYPAL_WEBHOOK_ID="WH-1"
    )
    assert refused.returncode != 0
    assert b"PAYPAL_WEBHOOK_ID" in refused.stderr
    assert with_id.returncode == 0, with_id.stderr.decode()


def test_console_email_is_refused(manage_py, subprocess_env):
    result = _check(manage_py, subprocess_env, EMAIL_URL="consolemail://")
    assert result.returncode != 0
    assert b"EMAIL_URL" in result.stderr


def test_payment_test_mode_is_impossible(manage_py, subprocess_env):
    result = _check(manage_py, subprocess_env, PAYMENT_TEST_MODE="true")
    assert result.returncode != 0
    assert b"PAYMENT_TEST_MODE" in result.stderr


def test_test_mode_is_off_even_with_a_test_key(manage_py, subprocess_env):
    code = "from apps.payment.testmode import is_test_mode; print('test-mode', is_test_mode())"
    env = subprocess_env()
    for name in _SCRUB:
        env.pop(name, None)
    env.update(PRODUCTION_ENV, STRIPE_API_KEY="sk_test_123")
    result = subprocess.run([*manage_py, "shell", "-c", code], env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert b"test-mode False" in result.stdout
