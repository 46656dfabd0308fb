"""Fixtures shared by every test: the real Redis, Kafka and PostgreSQL of `scripts/services`."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from confluent_kafka import Message

ROOT = Path(__file__).resolve().parent.parent
# The real serving stack (edge + app servers of scripts/run) as the `real_stack` fixture, and
# config.asgi alone under uvicorn as `uvicorn_server`.
pytest_plugins = ["tests.stack", "tests.asgi_server"]


@pytest.fixture
def redis_client(settings) -> Iterator[redis_lib.Redis]:
    """This xdist worker's own Redis database, emptied before the test."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix="x": f"{prefix}-{uuid.uuid4().hex[:12]}"


def read_topic(topic: str, *, until: Callable[[list[Message]], bool], timeout: float = 60.0) -> list[Message]:
    """Every message on `topic` from the beginning, read by a fresh group, until `until(messages)`.

    `until` is evaluated once per fetched batch, not per message, so it may scan the whole list.
    """
    from nexuscart import kafka

    kafka.ensure_topics([topic])
    consumer = kafka.consumer(f"reader-{uuid.uuid4().hex}")
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until(messages):
            batch = consumer.consume(num_messages=2000, timeout=0.5)
            messages.extend(m for m in batch if not m.error())
    finally:
        consumer.close()
    return messages


@pytest.fixture
def subprocess_env(settings) -> Callable[..., dict[str, str]]:
    """Environment for a `manage.py` child process that must use this test's database and topics."""
    from django.db import connection

    def build(**extra: str) -> dict[str, str]:
        db = connection.settings_dict
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
                "TEST_REDIS_URL": settings.REDIS_URL,
                "NEXUSCART_TEST_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
                "PYTHONPATH": str(ROOT),
                **extra,
            }
        )
        return env

    return build


@pytest.fixture
def manage_py() -> list[str]:
    return [sys.executable, str(ROOT / "manage.py")]


def envelopes(messages: list[Message]) -> list[dict]:
    """The JSON envelopes among `messages` (tests also put garbage on topics on purpose)."""
    decoded = []
    for message in messages:
        try:
            data = json.loads(message.value())
        except (TypeError, ValueError):
            continue
        if isinstance(data, dict) and "id" in data:
            decoded.append(data | {"_key": message.key(), "_partition": message.partition()})
    return decoded


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / ".local" / "test-artifacts"


@pytest.fixture
def browser_page(live_server, request):
    """A headless Debian Chromium page (Playwright) on the live server; call `shot(name)` to keep a screenshot.

    Yields (page, shot). Screenshots land in .local/test-artifacts/<test name>/.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(base_url=live_server.url)
        page.set_default_timeout(15_000)

        def shot(name: str) -> Path:
            path = folder / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            return path

        try:
            yield page, shot
        finally:
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
