"""supervisord event listener: when a program's main process dies, kill what it left behind.

supervisord starts every program as the leader of its own process group, and restarts it when it
exits, but it kills the group only when it stops a program itself (killasgroup). A server master
or Celery parent killed from outside (SIGKILL, the OOM killer) leaves its workers behind as
orphans: they keep the listening socket or keep consuming, and the restarted program then fights
them (gunicorn: "Connection in use"; granian's orphans keep serving with no master). On every
PROCESS_STATE_EXITED this listener SIGKILLs the dead process's group (its pgid is its pid).

Rendered into every supervisord config by config/topology.py: `python -m config.reaper`.
"""

from __future__ import annotations

import os
import signal
import sys

from supervisor import childutils


def reap(pid: int) -> bool:
    """SIGKILL process group `pid`; True when something was left to kill."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def main() -> None:
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers["eventname"] == "PROCESS_STATE_EXITED":
            fields = childutils.get_headers(payload.split("\n", 1)[0])
            pid = int(fields.get("pid", 0))
            if pid > 1 and reap(pid):
                print(
                    f"reaper: {fields.get('processname')} (pid {pid}) left processes behind: killed its group",
                    file=sys.stderr,
                    flush=True,
                )
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
