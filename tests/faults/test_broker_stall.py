"""A stalled Celery broker never holds a committed request: the outbox's relay nudge (on commit).

kombu's Redis client had no timeout and Celery retried publishes, so with the broker's Redis
stalled (connections up, no answers) every write that nudged the relay after its commit waited
until the edge gave up (a checkout answered nginx's 504 after 60 s in CI). Now a commit only
flags the nudge; the process's nudge thread (nexuscart/relay_nudge.py) sends it with the Redis
timeout and no retries, opens the process's Redis breaker for the broker when the send times
out, and sends nothing more until the breaker's probe gets an answer.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(120)]

# Run in an app process of the fault environment (its broker is our Redis through toxiproxy).
_NUDGES = """
import json, time
from nexuscart import relay_nudge
took = []
for _ in range(3):
    relay_nudge._next_at = 0.0  # past the one-nudge-per-window limit: each call asks for a send
    started = time.monotonic()
    relay_nudge.nudge()
    took.append(round(time.monotonic() - started, 3))
    time.sleep(0.2)
deadline = time.monotonic() + 20
while not relay_nudge.broker_guard().is_open and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"took": took, "breaker_open": relay_nudge.broker_guard().is_open}))
"""


def test_a_stalled_broker_never_holds_the_committing_request(faults):
    faults.toxic("redis", "timeout", timeout=0)  # connections stay up, nothing comes back
    try:
        done = faults.manage("shell", "-c", _NUDGES, direct=False, timeout=60)
    finally:
        faults.heal()
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print("nudges with the broker stalled (seconds each):", result)
    assert all(seconds < 0.05 for seconds in result["took"]), result
    # The thread met the stall (a kombu timeout) and opened the breaker: later nudges send nothing.
    assert result["breaker_open"], result
    assert "could not nudge the outbox relay" in done.stdout + done.stderr
