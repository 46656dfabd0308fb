"""Fixtures of the fault suite (tests/faults/harness.py says how it works)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.harness import DB_NAME, STRIPE_MOCK_PORT, Faults, OwnKafka, Shop, make_shop
from tests.stack import Stack, free_port, start_stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: breaks a service of its own (tests/faults); -m 'not faults' skips")


@pytest.fixture(scope="session")
def faults() -> Iterator[Faults]:
    """Own PostgreSQL, Redis and toxiproxy for this session (this xdist worker), migrated once."""
    local = Path(tempfile.mkdtemp(prefix="nc-faults-"))
    local.chmod(0o755)  # the postgres OS user must traverse it
    env = Faults(local=local, pg_port=free_port(), redis_port=free_port(), toxiproxy_port=free_port())
    try:
        env.services("start", "postgres", "redis", "toxiproxy")
        env.proxy("postgres", env.pg_port)
        env.proxy("redis", env.redis_port)
        env.proxy("stripe", STRIPE_MOCK_PORT)  # the shared stripe-mock: stateless, a toxic here slows only us
        with psycopg.connect(
            f"postgres://nexuscart:nexuscart@127.0.0.1:{env.pg_port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        migrated = env.manage("migrate", "--noinput", "-v0")
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrated.stdout}\n{migrated.stderr}")
        yield env
    finally:
        env.services("stop", "toxiproxy", "redis", "postgres")
        shutil.rmtree(local, ignore_errors=True)


@pytest.fixture(scope="session")
def _session_fault_stack(faults: Faults) -> Iterator[Stack]:
    with start_stack(faults.app_env()) as stack:
        yield stack


@pytest.fixture
def fault_stack(faults: Faults, _session_fault_stack: Stack) -> Iterator[Stack]:
    """The scripts/run serving stack (edge + web + hot) on our services through toxiproxy.

    One per session (starting it costs seconds); each test gets it healed and answering (a test may
    have killed a server: supervisord restarted it) and heals it again afterwards.
    """
    faults.heal()
    _session_fault_stack.wait_ready(90)
    yield _session_fault_stack
    faults.heal()


@pytest.fixture
def start_fault_stack(faults: Faults) -> Iterator[Callable[..., Stack]]:
    """start(relay=False, **env) -> the fault stack with extra settings for the app processes,
    with the outbox relay and beat too when `relay` (the Kafka tests watch events reach Kafka);
    healed before and after."""
    faults.heal()
    with contextlib.ExitStack() as stacks:

        def start(*, relay: bool = False, **env: str) -> Stack:
            if not relay:
                return stacks.enter_context(start_stack(faults.app_env(**env)))
            programs = ("web", "hot", "edge", "relay", "beat")
            return stacks.enter_context(start_stack(faults.app_env(**env), programs=programs, timeout=120))

        yield start
    faults.heal()


@pytest.fixture
def start_own_kafka() -> Iterator[Callable[..., OwnKafka]]:
    """start(port=None, advertised_port=None) -> a running Kafka node of our own (OwnKafka),
    stopped and its folder removed after the test; skips where Kafka is not installed."""
    if not OwnKafka.installed():
        pytest.skip("Kafka is not installed (scripts/services start kafka installs it)")
    with contextlib.ExitStack() as nodes:

        def start(**ports: int) -> OwnKafka:
            kafka = OwnKafka(**ports)
            nodes.callback(kafka.close)  # also when its start fails half-way
            kafka.services("start")
            return kafka

        yield start


@pytest.fixture
def shop(faults: Faults) -> Shop:
    """A SKU with 40 units and 40 signed-in buyers with an address, in our database."""
    return make_shop(faults, stock=40, buyers=40)
