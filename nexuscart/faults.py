"""Named crash points for fault tests: NEXUSCART_FAULTS=relay.after_produce kills the process there.

Off unless the environment names the point, so production code pays one set lookup.
"""

import os
import signal

_ARMED = frozenset(filter(None, os.environ.get("NEXUSCART_FAULTS", "").split(",")))


def crash_point(name: str) -> None:
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
