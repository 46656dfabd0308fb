"""Fault-suite harness: services of our own to break, toxiproxy between them and the app.

A fault test kills, restarts or slows a service. The shared services of `scripts/services` serve
every other test of the run, so this suite starts its OWN PostgreSQL and Redis with the project's
service scripts (own ports, own data folder: NEXUSCART_LOCAL / NEXUSCART_*_PORT), plus a toxiproxy
whose proxies sit between the app and each of them. The app runs as the real stack
(tests/stack.py: nginx edge + gunicorn + uvicorn under supervisord, the scripts/run topology)
connected THROUGH the proxies, so a test can add latency or cut a connection (`faults.toxic(...)`)
or restart a server (`faults.services("restart", "postgres")`) and watch what clients get.

stripe-mock is the shared one behind a proxy of ours (it is stateless: a toxic slows only this
suite's calls). Kafka is the shared one (own topic prefix) unless a test breaks it: then it starts its own node
(`OwnKafka`, optionally advertised through a toxiproxy port). Search is off.
Every fixture is bounded in time and restores what it broke (toxics removed after each test).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from confluent_kafka import Consumer, TopicPartition

from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
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

    def remove_proxy(self, name: str) -> None:
        """Delete a proxy made for one test (e.g. in front of a service that test started and stops)."""
        requests.delete(f"{self.api}/proxies/{name}", timeout=5)
        self.proxy_ports.pop(name, None)

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


def latest_order_id(faults: Faults, user_id: int) -> int:
    """The id of the user's latest order (checkout's answer is read for its status only)."""
    return faults.sql("SELECT id FROM order_order WHERE user_id = %s ORDER BY created_at DESC LIMIT 1", user_id)[0][0]


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


# --- a Kafka node of a test's own -------------------------------------------------------------------
class OwnKafka:
    """A Kafka node of our own through the project's service script (own ports and data folder).

    `advertised_port`: the port the node tells clients to use (a toxiproxy listener in front of
    it). Kafka clients connect to the bootstrap address only to learn the advertised one, so a
    proxy must be what the node advertises for every connection to go through it.
    """

    def __init__(self, *, port: int | None = None, advertised_port: int | None = None) -> None:
        self.local = Path(tempfile.mkdtemp(prefix="nc-kafka-"))
        self.port, self.controller_port = port or free_port(), free_port()
        self.advertised_port = advertised_port or self.port
        # The shared install's jars (read-only use): kafka_installed() finds its stamp and skips Maven.
        (self.local / "kafka").mkdir()
        (self.local / "kafka" / "libs").symlink_to(ROOT / ".local" / "kafka" / "libs")

    @staticmethod
    def installed() -> bool:
        return (ROOT / ".local" / "kafka" / "libs" / ".complete").exists()

    @property
    def bootstrap(self) -> str:
        """What clients use: the advertised address (the proxy, when there is one)."""
        return f"127.0.0.1:{self.advertised_port}"

    def services(self, command: str) -> None:
        env = dict(
            os.environ,
            NEXUSCART_LOCAL=str(self.local),
            NEXUSCART_KAFKA_PORT=str(self.port),
            NEXUSCART_KAFKA_CONTROLLER_PORT=str(self.controller_port),
            NEXUSCART_KAFKA_ADVERTISED_PORT=str(self.advertised_port),
            NEXUSCART_KAFKA_HEAP="-Xmx384m -Xms128m",
        )
        result = subprocess.run([str(SERVICES), command, "kafka"], env=env, capture_output=True, text=True, timeout=240)
        if result.returncode != 0 and command != "stop":
            raise RuntimeError(f"scripts/services {command} kafka failed:\n{result.stdout}\n{result.stderr}")

    def close(self) -> None:
        self.services("stop")
        shutil.rmtree(self.local, ignore_errors=True)


def read_all(bootstrap: str, topics: list[str], expected: int, timeout: float = 90) -> list[tuple[str, int, int, dict]]:
    """(topic, partition, offset, envelope) of every message on `topics`, read from the beginning."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"faults-read-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    try:
        parts = []
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            parts += [TopicPartition(topic, p, 0) for p in meta.partitions]
        consumer.assign(parts)
        seen: list[tuple[str, int, int, dict]] = []
        deadline = time.monotonic() + timeout
        while len(seen) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            seen.append((msg.topic(), msg.partition(), msg.offset(), json.loads(msg.value())))
        return seen
    finally:
        consumer.close()


def pay(stack: Stack, buyer: tuple[int, str, int], order_id: int) -> tuple[int, int]:
    """Create a Stripe payment through the edge, then deliver its signed success webhook; both statuses."""
    _user_id, token, _address = buyer
    created = stack.session.post(
        f"{stack.url}/api/v1/orders/{order_id}/payments",
        json={"provider": "stripe"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=20,
    )
    if created.status_code != 201:
        return created.status_code, 0
    payment = created.json()
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment["provider_reference"], order_id=order_id, amount=payment["amount"], currency="USD"
        ),
    )
    body, headers = signed_stripe_delivery(event)
    hook = stack.session.post(f"{stack.url}/api/v1/webhooks/stripe", data=body, headers=headers, timeout=20)
    return created.status_code, hook.status_code


def outbox_mark(faults: Faults) -> tuple[int, int]:
    """(last outbox id, last dead-letter id) now: a test's own rows are the ones after these."""
    ((outbox, dead),) = faults.sql(
        "SELECT (SELECT coalesce(max(id), 0) FROM nexuscart_outboxevent),"
        " (SELECT coalesce(max(id), 0) FROM nexuscart_deadletter)"
    )
    return outbox, dead


def outbox_unsent_sql(faults: Faults) -> str:
    """SQL condition "outbox row `o` is not delivered yet", for either outbox layout: a status
    column on the row, or (issue 10) a row in the relay's queue table nexuscart_outboxpending."""
    if faults.sql("SELECT to_regclass('nexuscart_outboxpending') IS NOT NULL") == [(True,)]:
        return "EXISTS (SELECT 1 FROM nexuscart_outboxpending p WHERE p.id = o.id)"
    return "o.status <> 'sent'"


def outbox_unsent(faults: Faults, since: int = 0) -> int:
    """How many outbox rows after id `since` are not delivered yet (none is ever failed for good)."""
    return faults.sql(
        f"SELECT count(*) FROM nexuscart_outboxevent o WHERE o.id > %s AND {outbox_unsent_sql(faults)}", since
    )[0][0]


def wait_outbox_sent(faults: Faults, since: int, timeout: float) -> int:
    """Wait until every outbox row after id `since` is delivered; how many are still not."""
    deadline = time.monotonic() + timeout
    while (left := outbox_unsent(faults, since)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def assert_outbox_reached_kafka_in_order(
    faults: Faults, bootstrap: str, *, since: tuple[int, int] = (0, 0), timeout: float = 150
) -> list[tuple]:
    """Within `timeout`, every outbox row after `since` (outbox_mark) is sent (none pending, none
    failed for good, nothing dead-lettered), every one is on Kafka, and per aggregate the first
    deliveries arrive in sequence order (a retried produce may repeat one). Those outbox rows."""
    first_row, first_dead = since
    left = wait_outbox_sent(faults, first_row, timeout)
    assert left == 0, f"{left} outbox rows still unsent after {timeout} s"
    rows = faults.sql(
        "SELECT event_id::text, topic, aggregate_type, aggregate_id, sequence FROM nexuscart_outboxevent"
        " WHERE id > %s ORDER BY id",
        first_row,
    )
    assert {r[2] for r in rows} >= {"order", "payment"}, {r[2] for r in rows}
    assert faults.sql("SELECT count(*) FROM nexuscart_deadletter WHERE id > %s", first_dead) == [(0,)]

    messages = read_all(bootstrap, sorted({r[1] for r in rows}), expected=len(rows))
    missing = {r[0] for r in rows} - {m[3]["id"] for m in messages}
    assert not missing, f"{len(missing)} of {len(rows)} outbox rows never reached Kafka"
    # In the order Kafka holds them (one partition per key): the first delivery of each sequence
    # comes in sequence order.
    per_aggregate: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _topic, _partition, _offset, envelope in sorted(messages, key=lambda m: (m[0], m[1], m[2])):
        per_aggregate[(envelope["aggregate_type"], envelope["aggregate_id"])].append(envelope["sequence"])
    for aggregate, sequences in per_aggregate.items():
        firsts = list(dict.fromkeys(sequences))
        assert firsts == sorted(firsts), (aggregate, sequences)
    return rows
