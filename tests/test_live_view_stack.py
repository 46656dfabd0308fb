"""The live sale view in the scripts/run topology (issue 14): purchases through the edge and the hot
path, the flash-sale worker turning them into orders, the relay, and the `flashsale-live` program
(manage.py flashsale_live under supervisord); a staff session reads the numbers on the admin page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.promotion.tests.factories import UserFactory, access_token, make_campaign
from tests.stack import stack_env, start_stack

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_live_page_follows_a_sale_through_the_run_topology(subprocess_env, redis_client):
    campaign = make_campaign(quantity=2, per_user_limit=1)
    buyers = [UserFactory() for _ in range(3)]
    staff = UserFactory(is_staff=True, is_superuser=True)
    django_client = Client()
    django_client.force_login(staff)
    session_cookie = django_client.cookies["sessionid"].value

    programs = ("web", "hot", "edge", "relay", "flashsale-worker", "flashsale-live")
    with start_stack(stack_env(subprocess_env), programs=programs) as stack:
        http, url = stack.session, stack.topology.url
        statuses = []
        for user in buyers:
            auth = {"Authorization": f"Bearer {access_token(user)}"}
            token = http.post(f"{url}/api/v1/flash-sales/{campaign.id}/token", headers=auth, timeout=10).json()["token"]
            bought = http.post(
                f"{url}/api/v1/flash-sales/{campaign.id}/purchase", json={"token": token}, headers=auth, timeout=10
            )
            statuses.append(bought.status_code)
        assert statuses == [202, 202, 409]

        live_json = f"{url}/admin/promotion/flashsalecampaign/{campaign.id}/live.json"
        wanted = {"attempt:reserved": 2, "attempt:sold_out": 1, "orders": 2, "units": 2}
        deadline, totals = time.monotonic() + 90, {}
        while time.monotonic() < deadline:
            answer = http.get(live_json, cookies={"sessionid": session_cookie}, timeout=10)
            assert answer.status_code == 200, answer.text[:300]
            totals = answer.json()["totals"]
            if all(totals.get(k) == v for k, v in wanted.items()):
                break
            time.sleep(1)
        assert {k: totals.get(k) for k in wanted} == wanted
        page = http.get(live_json.replace("live.json", "live/"), cookies={"sessionid": session_cookie}, timeout=10)
        assert page.status_code == 200
        assert 'id="fs-live-chart"' in page.text
    # The chart's script ships as a static file (collectstatic, which scripts/run runs, puts it in STATIC_ROOT).
    script = finders.find("promotion/live.js")
    assert script
    assert "setTimeout(refresh, 1000)" in Path(script).read_text()
