"""A PostgreSQL that holds its connections open but never answers (issue 12: no read timeout).

toxiproxy's `timeout` toxic with timeout 0 drops everything PostgreSQL sends while keeping the TCP
connections up and ACKed: what a SIGSTOPped server, a frozen VM or a stuck proxy looks like.
Keepalives never fire and statement_timeout never runs (the server answered; the answer is lost),
so only the client's own read timeout (nexuscart/db/base.py, DATABASES READ_TIMEOUT) ends the
wait. Without it every request hangs until the edge's 60 s proxy timeout.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.test_network_faults import timed_get

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(240)]

STATEMENT_TIMEOUT_S = 2  # this test's stack: READ_TIMEOUT = statement timeout + 2 s (base.py)
READ_TIMEOUT_S = STATEMENT_TIMEOUT_S + 2
# A new connection to the stalled server waits DB_CONNECT_TIMEOUT (3 s) instead; slack for load.
BOUND_S = READ_TIMEOUT_S + 4


def test_a_stalled_postgres_gives_503_problems_within_the_read_timeout_and_recovers(faults, start_fault_stack, shop):
    stack = start_fault_stack(DB_STATEMENT_TIMEOUT=str(STATEMENT_TIMEOUT_S))
    _user_id, token, _address = shop.buyers[3]
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # warm: the pool holds open connections that the stall will catch mid-query
        assert stack.get("/api/v1/orders", headers=auth).status_code == 200

    faults.toxic("postgres", "timeout", timeout=0)
    try:
        for _ in range(3):
            response, seconds = timed_get(stack, "/api/v1/orders", headers=auth)
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"].startswith("application/problem+json")
            assert response.json()["code"] == "database_unavailable"
            assert seconds < BOUND_S, seconds
    finally:
        faults.heal()

    deadline = time.monotonic() + 30
    while stack.get("/api/v1/orders", headers=auth).status_code != 200:
        assert time.monotonic() < deadline, "no recovery after the network healed"
        time.sleep(0.2)
