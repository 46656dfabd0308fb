"""Issue 15 feature: order e-mails (confirmation, payment received, shipped, cancelled, refunded) sent by a
real Celery worker from the order events, through Django's mail framework, to a real local SMTP
server (aiosmtpd) started by the test; each has a plain-text and an HTML part."""

from __future__ import annotations

import email
import socket
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from apps.order import services
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from nexuscart.consumers import apply_event
from nexuscart.models import OutboxEvent
from tests.factories import envelope_from_row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def mail_worker(smtp, subprocess_env, redis_client):
    _, port = smtp
    celery = str(Path(sys.executable).parent / "celery")
    worker = subprocess.Popen(
        [celery, "-A", "config", "worker", "-Q", "celery", "--pool", "solo", "--without-heartbeat",
         "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        env=subprocess_env(EMAIL_URL=f"smtp://127.0.0.1:{port}", SITE_URL="https://shop.example"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


def _deliver(order_id: int) -> None:
    """What the order-mail consumer does with each of the order's events (inbox, then the task)."""
    for row in OutboxEvent.objects.filter(aggregate_type="order", aggregate_id=str(order_id)).order_by("sequence"):
        apply_event("order-mail", envelope_from_row(row))


def test_each_order_event_mails_the_shopper_text_and_html(smtp, mail_worker):
    inbox, _ = smtp
    user = UserFactory()
    sku = sku_for_sale(price=2500, stock=5, name="Copper Kettle")
    address = address_for(user.id)
    shipped = services.order_create(
        user_id=user.id,
        lines=[services.OrderLineInput(sku, 2)],
        shipping_address_id=address,
        shipping_method="standard",
    )
    services.order_mark_paid(
        order_id=shipped.id, payment_reference="pi_test", amount=shipped.total, currency="USD", actor="test"
    )
    services.order_ship(order_id=shipped.id, actor="staff:test")
    services.order_record_refund(order_id=shipped.id, refunded_total=500, actor="staff:test", reason="dent")
    cancelled = services.order_create(
        user_id=user.id, lines=[services.OrderLineInput(sku, 1)], shipping_address_id=address
    )
    services.order_cancel(
        order_id=cancelled.id, user_id=user.id, actor="system:payment-timeout", reason="payment timeout"
    )
    _deliver(shipped.id)
    _deliver(cancelled.id)
    _deliver(shipped.id)  # the same events again: the inbox drops them, nobody is mailed twice

    deadline = time.monotonic() + 90
    while len(inbox.messages) < 6 and time.monotonic() < deadline:
        time.sleep(0.25)
    time.sleep(1.0)  # anything extra would arrive now
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert subjects == sorted(
        [
            f"Your NexusCart order #{shipped.id}",
            f"Payment received for order #{shipped.id}",
            f"Order #{shipped.id} is on its way",
            f"Refund for order #{shipped.id}",
            f"Your NexusCart order #{cancelled.id}",
            f"Order #{cancelled.id} was cancelled",
        ]
    )
    for message in inbox.messages:
        assert message["To"] == user.email
        parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
        assert set(parts) == {"text/plain", "text/html"}
        assert "Copper Kettle" in parts["text/plain"]
        assert "<html" in parts["text/html"]
        assert "https://shop.example/orders/" in parts["text/html"]
    confirmation = next(m for m in inbox.messages if m["Subject"] == f"Your NexusCart order #{shipped.id}")
    text = next(p for p in confirmation.iter_parts() if p.get_content_type() == "text/plain").get_content()
    assert "Shipping  $0.00" not in text  # $50 of goods: Standard costs $5.99 below $75
    assert "Shipping  $5.99" in text
    timeout_mail = next(m for m in inbox.messages if m["Subject"] == f"Order #{cancelled.id} was cancelled")
    assert "not paid in time" in next(p for p in timeout_mail.iter_parts()).get_content()
