"""A shopper buys in a real browser: countdown, buy button, token + purchase, then on to the order page."""

from __future__ import annotations

import threading

import pytest
from django.test import Client

from apps.order.services import ReservationWorker
from apps.promotion.tests.factories import UserFactory, make_campaign
from tests.pytest_plugin import ARTIFACTS, CHROMIUM

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_shopper_buys_in_the_flash_sale_page_and_lands_on_the_order(redis_client, hot_server):
    from playwright.sync_api import sync_playwright

    server = hot_server()
    campaign = make_campaign(quantity=3, per_user_limit=1)
    shopper = UserFactory()
    django_client = Client()
    django_client.force_login(shopper)
    session_id = django_client.cookies["sessionid"].value
    stop = threading.Event()
    worker = threading.Thread(
        target=lambda: ReservationWorker(campaign_ids=[campaign.id]).run(should_stop=stop.is_set), daemon=True
    )
    worker.start()
    folder = ARTIFACTS / "flash_sale_browser"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(base_url=server.url)
            context.add_cookies([{"name": "sessionid", "value": session_id, "url": server.url}])
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"/flash-sales/{campaign.id}/")
            page.wait_for_selector("#fs-countdown:has-text('Ends in')")
            assert page.inner_text("#fs-remaining") == "3"
            page.screenshot(path=str(folder / "before.png"))
            page.click("#fs-buy")
            page.wait_for_url("**/orders/*/", timeout=30_000)
            page.screenshot(path=str(folder / "order.png"))
            order_url = page.url
            browser.close()
    finally:
        stop.set()
        worker.join(10)
    from apps.order import selectors as order_selectors

    order_id = int(order_url.rstrip("/").rsplit("/", 1)[1])
    order = order_selectors.order_get(order_id=order_id, user_id=shopper.id)
    assert order.status == "AWAITING_PAYMENT"
    assert order.flash_sale_campaign_id == campaign.id
