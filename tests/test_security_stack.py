"""Issue 13 through the real serving stack (tests/stack.py: nginx edge -> gunicorn Django + uvicorn hot path).

Spoofed X-Forwarded-For, per-IP limits, the general API limit's headers and the protected probes
behave differently behind a real edge than in Django's test client, so these go through it.

Every client here connects from its own loopback address (127.0.0.x, x > 1; Linux routes all of
127/8 to lo): the edge appends that address to X-Forwarded-For and reaches the app servers from
127.0.0.1, the only trusted proxy (TRUSTED_PROXIES of tests/stack.py). So "a client" is an
address the edge saw, as in production, and whatever it writes in X-Forwarded-For is its own
words.
"""

from __future__ import annotations

import re
import time

import jwt
import pytest
import requests
from django.contrib.auth.models import Group
from requests.adapters import HTTPAdapter

from apps.promotion.tests.factories import UserFactory, access_token, make_campaign
from tests.factories import PASSWORD

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _fresh_buckets(redis_client):
    """Buckets of an earlier run (same addresses, same Redis database) must not decide this one."""
    return redis_client


class _SourceAdapter(HTTPAdapter):
    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._source, 0)
        return super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    """An HTTP client whose connections come from `address`."""
    session = requests.Session()
    session.mount("http://", _SourceAdapter(address))
    return session


def _login(http: requests.Session, url: str, *, forged: str) -> int:
    return http.post(
        f"{url}/api/v1/auth/token",
        json={"email": "nobody@example.com", "password": "wrong-password"},
        headers={"X-Forwarded-For": forged},
        timeout=10,
    ).status_code


def test_login_limit_per_address_cannot_be_dodged_with_a_forged_forwarded_for(real_stack):
    stack = real_stack(AUTH_THROTTLE_IP_RATE="3/m")
    attacker, neighbour = client_at("127.0.0.5"), client_at("127.0.0.6")

    # a fresh forged header on every guess used to be a fresh bucket (issue 13 #1)
    statuses = [_login(attacker, stack.url, forged=f"198.51.100.{n}") for n in range(5)]
    # forging the neighbour's address, or the edge's own, does not move the attacker either
    as_neighbour = _login(attacker, stack.url, forged="127.0.0.6")
    as_edge = _login(attacker, stack.url, forged="127.0.0.1, 127.0.0.1")

    assert statuses == [401, 401, 401, 429, 429]
    assert (as_neighbour, as_edge) == (429, 429)
    assert _login(neighbour, stack.url, forged="203.0.113.1") == 401  # another address, its own bucket

    # Straight to the app server, skipping the edge: the peer is not a trusted proxy, so its
    # forged header is ignored as well and it is limited by its own address.
    direct_url = f"http://127.0.0.1:{stack.topology.web_port}"
    bypass = client_at("127.0.0.7")
    direct = [_login(bypass, direct_url, forged=f"192.0.2.{n}") for n in range(4)]
    assert direct == [401, 401, 401, 429]


def test_flash_sale_ip_bucket_on_the_hot_path_cannot_be_dodged_either(real_stack):
    stack = real_stack(FLASH_SALE_TOKEN_IP_BURST="2", FLASH_SALE_TOKEN_IP_RATE="0.01")
    campaign = make_campaign(quantity=5)
    shoppers = [UserFactory() for _ in range(4)]
    bot, other = client_at("127.0.0.8"), client_at("127.0.0.9")

    def token(http: requests.Session, user, forged: str) -> requests.Response:
        return http.post(
            f"{stack.url}/api/v1/flash-sales/{campaign.id}/token",
            headers={"Authorization": f"Bearer {access_token(user)}", "X-Forwarded-For": forged},
            timeout=10,
        )

    # one address with many accounts, a new forged address per request: the bucket is the address's
    statuses = [token(bot, user, f"198.51.100.{n}").status_code for n, user in enumerate(shoppers[:3])]
    refused = token(bot, shoppers[0], "203.0.113.50")

    assert statuses == [201, 201, 429]
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) >= 1
    assert token(other, shoppers[3], "198.51.100.1").status_code == 201


def test_general_api_limit_headers_and_429_through_the_edge(real_stack):
    stack = real_stack(API_RATE_LIMIT="1/m burst 3")
    first, second = client_at("127.0.0.10"), client_at("127.0.0.11")

    def products(http: requests.Session, forged: str) -> requests.Response:
        return http.get(f"{stack.url}/api/v1/products", headers={"X-Forwarded-For": forged}, timeout=10)

    answers = [products(first, f"198.51.100.{n}") for n in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Limit"] for r in answers] == ["3"] * 4
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert all(int(r.headers["RateLimit-Reset"]) >= 0 for r in answers)
    refused = answers[-1]
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert products(second, "198.51.100.0").status_code == 200

    # Django's API routes (the web server) and the hot path's other reads share the limit...
    third, fourth = client_at("127.0.0.15"), client_at("127.0.0.16")
    django_side = [third.get(f"{stack.url}/api/v1/me", timeout=10) for _ in range(4)]
    assert [r.status_code for r in django_side] == [401, 401, 401, 429]
    assert django_side[0].headers["RateLimit-Remaining"] == "2"
    inventory = [fourth.get(f"{stack.url}/api/v1/inventory/NO-SUCH-SKU", timeout=10) for _ in range(4)]
    assert [r.status_code for r in inventory][-1] == 429
    assert inventory[0].headers["RateLimit-Limit"] == "3"
    # ...while the flash-sale routes keep their own buckets (no extra Redis round trip there)
    sale = fourth.get(f"{stack.url}/api/v1/flash-sales/reservations/1", timeout=10)
    assert sale.status_code == 401
    assert "RateLimit-Limit" not in sale.headers


def test_metrics_need_the_token_and_readyz_tells_names_and_states_only(real_stack):
    stack = real_stack(METRICS_TOKEN="stack-metrics-token-0123456789")

    assert stack.get("/metrics").status_code == 401
    assert stack.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    metrics = stack.get("/metrics", headers={"Authorization": "Bearer stack-metrics-token-0123456789"})
    assert metrics.status_code == 200
    assert "django_http_requests_total_by_method_total" in metrics.text

    ready = stack.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


def test_the_hot_path_refuses_a_deactivated_account_within_a_second(real_stack):
    """Issue 13 #9: the hot path honours is_active (it used to accept the token until it expired)."""
    stack = real_stack()
    user = UserFactory()
    headers = {"Authorization": f"Bearer {access_token(user)}"}
    status_url = "/api/v1/flash-sales/reservations/999999999"

    before = stack.get(status_url, headers=headers)
    user.is_active = False
    user.save()
    time.sleep(1.2)  # HOT_ACTIVE_CHECK_SECONDS: each hot process may remember the old answer that long
    after = stack.get(status_url, headers=headers)
    user.is_active = True
    user.save()
    time.sleep(1.2)
    again = stack.get(status_url, headers=headers)

    assert before.status_code == 404
    assert (after.status_code, after.json()["code"]) == (401, "authentication_failed")
    assert again.status_code == 404


def test_fifteen_wrong_admin_passwords_through_the_edge_end_in_429s(real_stack):
    """Issue 13 #4 live: 15 wrong admin passwords used to be 15 x 200."""
    stack = real_stack(AUTH_LOCKOUT_ACCOUNT_RATE="10/15m")
    staff = UserFactory(is_staff=True, is_superuser=True)
    http = client_at("127.0.0.12")

    def attempt(password: str) -> int:
        page = http.get(f"{stack.url}/admin/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return http.post(
            f"{stack.url}/admin/login/?next=/admin/",
            data={"username": staff.email, "password": password, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=10,
        ).status_code

    statuses = [attempt("wrong-password") for _ in range(15)]

    assert statuses == [200] * 10 + [429] * 5
    assert attempt(PASSWORD) == 429  # locked: even the right password


def test_staff_roles_and_rotated_jwt_keys_through_the_edge(real_stack):
    """Issue 13 #3 and #9 live: a role decides a staff call; a token of the previous key still verifies."""
    old_key = "the-previous-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"
    stack = real_stack(JWT_PREVIOUS_SIGNING_KEY=old_key, JWT_PREVIOUS_KEY_ID="k0")
    plain_staff, finance = UserFactory(is_staff=True), UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name="finance"))

    def refund(user) -> int:
        return stack.post(
            "/api/v1/staff/orders/1/refund",
            json={},
            headers={"Authorization": f"Bearer {access_token(user)}", "Idempotency-Key": f"k-{user.pk}"},
        ).status_code

    assert refund(plain_staff) == 403
    assert refund(finance) not in (401, 403)  # past the permission check (no such order: 404)

    def signed(key: str, kid: str) -> dict[str, str]:
        claims = {"token_type": "access", "user_id": finance.pk, "exp": int(time.time()) + 60, "jti": "j"}
        return {"Authorization": "Bearer " + jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})}

    hot = "/api/v1/flash-sales/reservations/999999999"
    assert stack.get("/api/v1/me", headers=signed(old_key, "k0")).status_code == 200
    assert stack.get(hot, headers=signed(old_key, "k0")).status_code == 404  # authenticated, no such reservation
    assert stack.get("/api/v1/me", headers=signed(old_key, "k9")).status_code == 401
    assert stack.get(hot, headers=signed(old_key, "k9")).status_code == 401


def test_a_crowd_behind_one_carrier_nat_address_signs_in_through_the_edge(real_stack):
    """Issue 13 #5 live, default limits: 60 shoppers on one address register, sign in and refresh."""
    stack = real_stack()
    nat = client_at("127.0.0.14")
    statuses = []
    for n in range(60):
        body = {"email": f"nat-crowd-{n}@example.com", "password": PASSWORD}
        statuses.append(nat.post(f"{stack.url}/api/v1/auth/register", json=body, timeout=10).status_code)
        pair = nat.post(f"{stack.url}/api/v1/auth/token", json=body, timeout=10)
        statuses.append(pair.status_code)
        refresh = {"refresh": pair.json().get("refresh", "")}
        statuses.append(nat.post(f"{stack.url}/api/v1/auth/token/refresh", json=refresh, timeout=10).status_code)

    assert set(statuses) == {200, 201}
