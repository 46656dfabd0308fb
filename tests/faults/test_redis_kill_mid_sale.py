"""Redis `kill -9` in the middle of a live flash sale under load, then restarted (issue 12 #1, #8).

Through the real stack (edge -> hot path -> our own Redis with its append-only file; the supervised
flash-sale worker turning reservations into orders). What must hold: no oversell, every 202 becomes
an order, per-user limits hold, `reconcile_flash_sale` clean, and the sale resumes by itself.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.faults.harness import Faults
from tests.stack import start_stack

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(300)]

QUANTITY, BUYERS, LIMIT = 100, 80, 2

_SALE = """
import json
from datetime import timedelta
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.promotion import services
sku = sku_for_sale(price=5000, stock={quantity})
now = timezone.now()
campaign = services.flash_sale_campaign_create(
    sku=sku, price=100, quantity={quantity}, starts_at=now - timedelta(seconds=1),
    ends_at=now + timedelta(minutes=20), per_user_limit={limit}, actor="faults",
)
services.flash_sale_campaign_warmup(campaign_id=campaign.id)
buyers = []
for _ in range({buyers}):
    user = UserFactory()
    address_for(user.id)
    buyers.append([user.id, str(AccessToken.for_user(user))])
print("FAULTS-JSON:" + json.dumps({{"campaign": campaign.id, "buyers": buyers}}))
"""


def make_sale(faults: Faults) -> tuple[int, list[tuple[int, str]]]:
    result = faults.manage("shell", "-c", _SALE.format(quantity=QUANTITY, limit=LIMIT, buyers=BUYERS))
    for line in result.stdout.splitlines():
        if line.startswith("FAULTS-JSON:"):
            data = json.loads(line.removeprefix("FAULTS-JSON:"))
            return data["campaign"], [tuple(b) for b in data["buyers"]]
    raise RuntimeError(f"sale setup failed:\n{result.stdout}\n{result.stderr}")


def kill_redis(faults: Faults) -> int:
    pid = int((faults.local / "run" / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    return pid


def test_redis_kill_9_mid_sale(faults):
    campaign, buyers = make_sale(faults)
    env = faults.app_env(FLASH_SALE_TOKEN_IP_RATE="100000", FLASH_SALE_TOKEN_IP_BURST="100000")
    with start_stack(env, programs=("web", "hot", "edge", "flashsale-worker")) as stack:
        accepted: list[tuple[int, int]] = []  # (user id, reservation id) of every 202
        outcomes: Counter = Counter()
        lock = threading.Lock()
        going = threading.Event()

        load_deadline = time.monotonic() + 75  # the whole load, kill and restart included

        def shopper(buyer: tuple[int, str]) -> None:
            user_id, token = buyer
            auth = {"Authorization": f"Bearer {token}"}
            deadline = load_deadline
            tries = 0
            while time.monotonic() < deadline and tries < LIMIT + 1:
                try:
                    issued = stack.post(f"/api/v1/flash-sales/{campaign}/token", headers=auth, timeout=10)
                    if issued.status_code not in (200, 201):
                        with lock:
                            outcomes[("token", issued.status_code, issued.json().get("code"))] += 1
                        time.sleep(float(issued.headers.get("Retry-After", "0.2")))
                        continue
                    bought = stack.post(
                        f"/api/v1/flash-sales/{campaign}/purchase",
                        json={"token": issued.json()["token"], "quantity": 1},
                        headers=auth,
                        timeout=10,
                    )
                except requests.RequestException as exc:
                    with lock:
                        outcomes[("error", type(exc).__name__)] += 1
                    time.sleep(0.2)
                    continue
                with lock:
                    code = bought.json().get("code") if bought.status_code >= 400 else ""
                    outcomes[("purchase", bought.status_code, code)] += 1
                    if bought.status_code == 202:
                        accepted.append((user_id, int(bought.json()["reservation_id"])))
                    if sum(outcomes.values()) >= 40:
                        going.set()
                if bought.status_code == 422:  # limit_exceeded: this shopper is done
                    return
                if bought.status_code in (202, 409):
                    tries += 1
                else:
                    time.sleep(0.2)  # 503 while Redis is away: retry

        sold_at_kill: list[int] = []

        def fault() -> None:
            going.wait(60)
            with lock:
                sold_at_kill.append(len(accepted))
            kill_redis(faults)
            time.sleep(1.0)
            faults.services("start", "redis")  # reloads its append-only file

        with ThreadPoolExecutor(max_workers=11) as pool:
            faulting = pool.submit(fault)
            list(pool.map(shopper, buyers))
            faulting.result()

        print(f"redis kill -9 mid-sale: {sold_at_kill[0]} units sold before the kill; outcomes {dict(outcomes)}")
        assert accepted, f"no purchase was accepted at all: {outcomes}"
        # The kill struck mid-sale: some units sold before it, the rest after the restart.
        assert 0 < sold_at_kill[0] < QUANTITY, (sold_at_kill, outcomes)
        # No oversell, limits held.
        assert len(accepted) <= QUANTITY, outcomes
        per_user = Counter(user for user, _ in accepted)
        assert max(per_user.values()) <= LIMIT, outcomes
        assert len(accepted) == QUANTITY, f"the sale did not sell out after Redis came back: {outcomes}"
        # Every 202 becomes an order (the supervised worker drains the stream after the restart).
        deadline = time.monotonic() + 90
        while True:
            statuses = Counter(
                stack.get(f"/api/v1/flash-sales/reservations/{rid}", headers={"Authorization": f"Bearer {tok}"})
                .json()
                .get("status")
                for (user, rid), tok in ((a, dict(buyers)[a[0]]) for a in accepted)
            )
            if statuses.get("ordered", 0) == len(accepted):
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(1.0)
    result = faults.manage("reconcile_flash_sale", str(campaign))
    assert result.returncode == 0, result.stdout + result.stderr
