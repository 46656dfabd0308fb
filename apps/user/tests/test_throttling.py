"""Brute-force protection of the auth endpoints: per IP and per account, in Redis, 429 + Retry-After."""

from __future__ import annotations

import time

import pytest

from apps.user.tests.factories import PASSWORD, UserFactory
from nexuscart.ratelimit import parse_rate

TOKEN = "/api/v1/auth/token"
WRONG = "wrong-password-0"
pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(*, ip: str = "1000/m", account: str = "1000/m", refresh: str = "1000/m") -> None:
        settings.AUTH_THROTTLE_RATES = {"auth_ip": ip, "auth_refresh": refresh}
        settings.AUTH_LOCKOUT_ACCOUNT_RATE = account
        settings.AUTH_LOCKOUT_IP_RATE = "1000/m"

    return set_rates


def _login(api, email: str, password: str = WRONG, ip: str = "198.51.100.7", **extra):
    return api.post(TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip, **extra)


def test_per_account_limit_answers_429_with_retry_after(api, user, rates):
    rates(account="3/m")

    statuses = [_login(api, user.email).status_code for _ in range(3)]
    refused = _login(api, user.email)

    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_per_account_limit_follows_the_account_across_ips_and_email_case(api, user, rates):
    rates(account="2/m")
    _login(api, user.email, ip="198.51.100.1")
    _login(api, user.email, ip="198.51.100.2")

    from_new_ip = _login(api, user.email.upper(), ip="203.0.113.9")
    other_account = _login(api, "someone-else@example.com", ip="203.0.113.9")

    assert from_new_ip.status_code == 429
    assert other_account.status_code == 401


def test_a_locked_account_is_refused_even_with_the_right_password(api, user, rates):
    rates(account="2/m")
    _login(api, user.email)
    _login(api, user.email)

    assert _login(api, user.email, password=PASSWORD).status_code == 429


def test_per_ip_limit_covers_many_accounts_and_ignores_forged_forwarded_for(api, rates):
    rates(ip="3/m")

    statuses = [
        _login(api, f"victim{n}@example.com", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(4)
    ]
    other_ip = _login(api, "victim9@example.com", ip="198.51.100.99")

    assert statuses == [401, 401, 401, 429]
    assert other_ip.status_code == 401


def test_registration_is_limited_per_ip(api, rates):
    rates(ip="2/m")

    statuses = [
        api.post(
            "/api/v1/auth/register", {"email": f"r{n}@example.com", "password": PASSWORD}, format="json"
        ).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]


def test_refresh_is_limited_per_ip(api, rates):
    rates(ip="2/m")

    statuses = [api.post("/api/v1/auth/token/refresh", {"refresh": "x"}, format="json").status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


@pytest.mark.slow
def test_retry_after_is_truthful(api, user, rates):
    rates(account="1/2s")
    _login(api, user.email)
    refused = _login(api, user.email)

    time.sleep(int(refused["Retry-After"]))

    assert refused.status_code == 429
    assert _login(api, user.email).status_code == 401


def test_lockout_in_one_test_a(api, user, rates):
    """With test_lockout_in_one_test_b: the limit state is per test (the Redis database is emptied)."""
    rates(account="1/h")
    _login(api, "shared-victim@example.com")

    assert _login(api, "shared-victim@example.com").status_code == 429


def test_lockout_in_one_test_b(api, user, rates):
    rates(account="1/h")

    assert _login(api, "shared-victim@example.com").status_code == 401


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("30/min", (0.5, 30)),
        ("10/15m", (10 / 900, 10)),
        ("5/h", (5 / 3600, 5)),
        ("1/2s", (0.5, 1)),
        ("100/s burst 300", (100.0, 300)),
        ("100/s:300", (100.0, 300)),
    ],
)
def test_rate_strings(rate, parsed):
    assert parse_rate(rate) == parsed


def test_bad_rate_string_is_refused():
    with pytest.raises(ValueError, match="bad rate"):
        parse_rate("ten per minute")


# --- issue 13 #5: limits that do not lock out real shoppers ------------------------------------


def test_successful_sign_ins_never_count_towards_the_account_lockout(api, user, rates):
    rates(account="2/m")

    successes = [_login(api, user.email, password=PASSWORD).status_code for _ in range(6)]

    assert successes == [200] * 6
    assert _login(api, user.email).status_code == 401  # the budget is intact: a failure is a 401


def test_failures_lock_the_account_but_not_another_account_on_the_same_address(api, user, rates):
    rates(account="2/m")
    other = UserFactory()
    _login(api, user.email)
    _login(api, user.email)

    assert _login(api, user.email, password=PASSWORD).status_code == 429
    assert _login(api, other.email, password=PASSWORD).status_code == 200


def test_refresh_is_limited_per_user_of_the_token_not_per_address(api, rates):
    rates(refresh="2/m")
    alice, bob = UserFactory(), UserFactory()
    pairs = {u.email: _login(api, u.email, password=PASSWORD).json() for u in (alice, bob)}

    def refresh(email: str) -> int:
        response = api.post("/api/v1/auth/token/refresh", {"refresh": pairs[email]["refresh"]}, format="json")
        if response.status_code == 200:
            pairs[email] = response.json()
        return response.status_code

    assert [refresh(alice.email) for _ in range(3)] == [200, 200, 429]
    assert refresh(bob.email) == 200  # same address, another user: its own bucket


def test_default_address_limit_lets_a_crowd_behind_one_nat_sign_in(api, settings):
    """80 shoppers behind one carrier-NAT address, each registering and signing in once."""
    statuses = []
    for n in range(80):
        email = f"nat-{n}@example.com"
        statuses.append(
            api.post("/api/v1/auth/register", {"email": email, "password": PASSWORD}, format="json").status_code
        )
        statuses.append(_login(api, email, password=PASSWORD).status_code)

    assert set(statuses) == {200, 201}
