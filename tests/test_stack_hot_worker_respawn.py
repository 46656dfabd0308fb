"""A hot-path worker killed under the real stack is replaced by its own server; the shop keeps answering.

Found by running scripts/run: without granian's --respawn-failed-workers, one SIGKILLed hot worker
made granian's master exit, so every hot-routed page (/, /c/, /p/, /search, the flash-sale API)
answered 502 for ~15 s until supervisord had restarted the whole hot server.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EDGE_ERRORS = {502, 503, 504}


def _children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def test_a_killed_hot_worker_is_respawned_and_hot_routes_keep_answering(real_stack):
    stack = real_stack(programs=("web", "hot", "edge"))
    master = stack.pid("hot")
    workers = _children(master)
    assert len(workers) == stack.topology.hot_workers

    victim = min(workers)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)

    answers = []  # (seconds since the kill, status)
    while time.monotonic() < killed_at + 8:
        status = stack.get("/api/v1/flash-sales/reservations/1", timeout=5).status_code
        answers.append((time.monotonic() - killed_at, status))
        time.sleep(0.1)
    # The dead worker's own listening socket (granian's workers each hold one) can take a connection
    # in the instant before the kernel closes it: the edge may answer 502 once or twice in the first
    # moment (seen in CI). After that, every answer comes from the surviving or the new worker.
    # Without respawning it was ~26 x 502 over ~15 s.
    early_errors = [status for at, status in answers if at < 1.0 and status in EDGE_ERRORS]
    later = {status for at, status in answers if at >= 1.0}
    assert len(early_errors) <= 3, (answers, stack.logs())
    assert later == {401}, (answers, stack.logs())  # the hot router's own answer (no token)

    # The same master, and a new worker in place of the dead one.
    assert stack.pid("hot") == master
    assert "exited: hot" not in stack.log("supervisord")
    replaced = _children(master)
    assert victim not in replaced
    assert len(replaced) == stack.topology.hot_workers, replaced
