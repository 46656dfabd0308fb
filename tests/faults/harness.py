"""Fault-suite harness: services of our own to break, toxiproxy between them and the app.

A fault test kills, restarts or slows a service. The shared services of `scripts/services` serve
every other test of the run, so this suite starts its OWN PostgreSQL and Redis with the project's
service scripts (own ports, own data folder: NEXUSCART_LOCAL / NEXUSCART_*_PORT), plus a toxiproxy
whose proxies sit between the app and each of them. The app runs as the real stack
(tests/stack.py: nginx edge + gunicorn + uvicorn under supervisord, the scripts/run topology)
connected THROUGH the proxies, so a test can add latency or cut a connection (`faults.toxic(...)`)
or restart a server (`faults.services("restart", "postgres")`) and watch what clients get.

stripe-mock is the shared one behind a proxy of ours (it is stateless: a toxic slows only this
suite's calls). Kafka is the shared one (own topic prefix) and search is off: no test here breaks them.
Every fixture is bounded in time and restores what it broke (toxics removed after each test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from tests.stack import ROOT, Stack, free_port

SERVICES = ROOT / "scripts" / "services"
DB_NAME = "nexuscart_faults"
STRIPE_MOCK_PORT = 12111  # scripts/services' stripe-mock


@dataclass
class Faults:
    """Our own PostgreSQL + Redis + toxiproxy, and how the app reaches them."""

    local: Path
    pg_port: int
    redis_port: int
    toxiproxy_port: int
    proxy_ports: dict[str, int] = field(default_factory=dict)  # proxy name -> listen port on 127.0.0.1
    topic_prefix: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:8]}")

    # --- services ----------------------------------------------------------------------------
    @property
    def service_env(self) -> dict[str, str]:
        return dict(
            os.environ,
            NEXUSCART_LOCAL=str(self.local),
            NEXUSCART_PG_PORT=str(self.pg_port),
            NEXUSCART_REDIS_PORT=str(self.redis_port),
            NEXUSCART_TOXIPROXY_PORT=str(self.toxiproxy_port),
        )

    def services(self, command: str, *names: str, timeout: float = 180) -> None:
        """`scripts/services COMMAND NAMES` on our own instances (never the shared ones)."""
        result = subprocess.run(
            [str(SERVICES), command, *names], env=self.service_env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0 and command != "stop":
            raise RuntimeError(f"scripts/services {command} {' '.join(names)} failed:\n{result.stderr}")

    # --- toxiproxy ---------------------------------------------------------------------------
    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.toxiproxy_port}"

    def proxy(self, name: str, upstream_port: int) -> int:
        port = free_port()
        response = requests.post(
            f"{self.api}/proxies",
            json={"name": name, "listen": f"127.0.0.1:{port}", "upstream": f"127.0.0.1:{upstream_port}"},
            timeout=5,
        )
        response.raise_for_status()
        self.proxy_ports[name] = port
        return port

    def toxic(self, proxy: str, kind: str, stream: str = "downstream", **attributes: int) -> str:
        """Add a toxic (latency: latency/jitter ms; timeout: timeout ms, 0 = blackhole; ...); its name."""
        name = f"{kind}-{stream}-{uuid.uuid4().hex[:6]}"
        response = requests.post(
            f"{self.api}/proxies/{proxy}/toxics",
            json={"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": attributes},
            timeout=5,
        )
        response.raise_for_status()
        return name

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Disabled = the proxy refuses and drops every connection (the service looks down)."""
        requests.post(f"{self.api}/proxies/{proxy}", json={"enabled": enabled}, timeout=5).raise_for_status()

    def heal(self) -> None:
        """Every proxy enabled, every toxic removed."""
        for name in self.proxy_ports:
            requests.post(f"{self.api}/proxies/{name}", json={"enabled": True}, timeout=5).raise_for_status()
            for toxic in requests.get(f"{self.api}/proxies/{name}/toxics", timeout=5).json():
                requests.delete(f"{self.api}/proxies/{name}/toxics/{toxic['name']}", timeout=5).raise_for_status()

    # --- the app's view ------------------------------------------------------------------------
    @property
    def direct_database_url(self) -> str:
        return f"postgres://nexuscart:nexuscart@127.0.0.1:{self.pg_port}/{DB_NAME}"

    def app_env(self, **extra: str) -> dict[str, str]:
        """Environment of the app processes: our PostgreSQL and Redis, reached through toxiproxy."""
        redis_url = f"redis://127.0.0.1:{self.proxy_ports['redis']}/0"
        env = dict(os.environ)
        for name in ("NEXUSCART_LOCAL", "PYTEST_XDIST_WORKER"):
            env.pop(name, None)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=f"postgres://nexuscart:nexuscart@127.0.0.1:{self.proxy_ports['postgres']}/{DB_NAME}",
            TEST_REDIS_URL=redis_url,
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            NEXUSCART_TEST_TOPIC_PREFIX=self.topic_prefix,
            KAFKA_TOPIC_PREFIX=self.topic_prefix,
            SEARCH_URL="",
            STRIPE_API_BASE=f"http://127.0.0.1:{self.proxy_ports['stripe']}",
            TRUSTED_PROXIES="127.0.0.1/32,::1/128",
            JWT_ACCESS_MINUTES="60",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            **extra,
        )
        return env

    def manage(self, *args: str, timeout: float = 300, direct: bool = True) -> subprocess.CompletedProcess:
        """`manage.py ARGS` against our database (directly, not through the proxy, unless direct=False)."""
        env = self.app_env()
        if direct:
            env["DATABASE_URL"] = self.direct_database_url
            env["REDIS_URL"] = env["TEST_REDIS_URL"] = env["CELERY_BROKER_URL"] = (
                f"redis://127.0.0.1:{self.redis_port}/0"
            )
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def sql(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.direct_database_url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()


# Test data built with the project's own test factories inside a manage.py shell on OUR database.
_SETUP = """
import json
from rest_framework_simplejwt.tokens import AccessToken
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
sku = sku_for_sale(price={price}, stock={stock})
buyers = []
for _ in range({buyers}):
    user = UserFactory()
    buyers.append([user.id, str(AccessToken.for_user(user)), address_for(user.id)])
print("FAULTS-JSON:" + json.dumps({{"sku": sku, "buyers": buyers}}))
"""


@dataclass
class Shop:
    sku: str
    buyers: list[tuple[int, str, int]]  # user id, access token, address id


def make_shop(faults: Faults, *, stock: int, buyers: int, price: int = 999) -> Shop:
    result = faults.manage("shell", "-c", _SETUP.format(price=price, stock=stock, buyers=buyers))
    for line in result.stdout.splitlines():
        if line.startswith("FAULTS-JSON:"):
            data = json.loads(line.removeprefix("FAULTS-JSON:"))
            return Shop(sku=data["sku"], buyers=[tuple(b) for b in data["buyers"]])
    raise RuntimeError(f"test data setup failed:\n{result.stdout}\n{result.stderr}")


# --- shoppers and invariants shared by the fault tests ----------------------------------------------
def checkout(stack: Stack, buyer: tuple[int, str, int], sku: str, key: str) -> tuple[int, str]:
    """One POST /api/v1/orders through the edge: (status, problem code or content type); -1 = no answer."""
    _user_id, token, address_id = buyer
    try:
        response = stack.session.post(
            f"{stack.url}/api/v1/orders",
            json={"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_id},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=15,
        )
    except requests.RequestException as exc:
        return -1, type(exc).__name__
    if response.status_code >= 400:
        ctype = response.headers.get("Content-Type", "")
        code = response.json().get("code", "") if ctype.startswith("application/problem+json") else ctype
        return response.status_code, code
    return response.status_code, ""


def shop_under(stack: Stack, shop: Shop, fault, *, threads: int = 8, deadline_s: float = 120) -> tuple[list, list]:
    """Every buyer checks out one unit (retrying with the SAME Idempotency-Key, as docs/api.md tells
    clients) while `fault(going)` runs in another thread; (final status per buyer, every outcome seen).

    `going` (a threading.Event) is set once a few checkouts have answered: the fault should strike
    then, with the rest in flight (on a warm stack 40 checkouts take well under a second).
    """
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()
    going = threading.Event()

    def buy(buyer) -> int:
        key = uuid.uuid4().hex
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            status, code = checkout(stack, buyer, shop.sku, key)
            with lock:
                outcomes.append((status, code))
                if len(outcomes) >= 3:
                    going.set()
            if status in (201, 409):
                return status
            time.sleep(0.3)
        return 0

    with ThreadPoolExecutor(max_workers=threads + 1) as pool:
        faulting = pool.submit(fault, going)
        finals = list(pool.map(buy, shop.buyers))
        faulting.result()
    return finals, outcomes


def assert_one_whole_order_per_buyer(faults: Faults, shop: Shop, units: int) -> None:
    """Exactly one order per buyer, each with its line; stock reserved = ordered units; ledgers agree."""
    ids = [b[0] for b in shop.buyers]
    per_user = faults.sql("SELECT user_id, count(*) FROM order_order WHERE user_id = ANY(%s) GROUP BY user_id", ids)
    assert sorted(n for _, n in per_user) == [1] * len(ids)
    orphans = faults.sql(
        "SELECT o.id FROM order_order o WHERE o.user_id = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM order_orderline l WHERE l.user_id = o.user_id AND l.order_id = o.id)",
        ids,
    )
    assert orphans == []
    stock = faults.sql("SELECT sum(reserved), sum(on_hand) FROM inventory_stock WHERE sku = %s", shop.sku)
    assert stock == [(len(ids), units)]
    for command in ("reconcile_inventory", "reconcile_order_reservations"):
        result = faults.manage(command)
        assert result.returncode == 0, result.stdout + result.stderr
