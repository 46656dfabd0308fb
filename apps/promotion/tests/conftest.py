"""The flash-sale tests' real HTTP server: the shared uvicorn_server (tests/asgi_server.py) with
the per-IP token limit out of the way (every test client is 127.0.0.1); the flash-sale worker
as a process of its own, killed before its acknowledgement or run to the end."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.asgi_server import AsgiServer


@pytest.fixture
def hot_server(uvicorn_server) -> Callable[..., AsgiServer]:
    """start(workers=1, **env) -> AsgiServer: config.asgi (hot routes + Django) under uvicorn."""

    def start(workers: int = 1, **extra_env: str) -> AsgiServer:
        limits = {"FLASH_SALE_TOKEN_IP_BURST": "1000000", "FLASH_SALE_TOKEN_IP_RATE": "100000"}
        return uvicorn_server(workers=workers, **{**limits, **extra_env})

    return start


@dataclass
class WorkerProcesses:
    """`manage.py flashsale_worker --campaign <id>` in a child process on this test's database and Redis."""

    manage_py: list[str]
    subprocess_env: Callable[..., dict[str, str]]

    def killed_before_ack(self, campaign_id: int, *, batch: int, writers: int) -> None:
        """Consumer "doomed", SIGKILLed at its first acknowledgement: its first batch's orders are
        committed, their entries still pending."""
        doomed = subprocess.run(
            [*self._command(campaign_id), "--consumer", "doomed", "--batch", str(batch), "--writers", str(writers)],
            env=self.subprocess_env(NEXUSCART_FAULTS="order.flash_sale_worker.before_ack"),
            timeout=60,
            check=False,
        )
        assert doomed.returncode == -9, doomed

    def survivor(self, campaign_id: int, *, writers: int) -> str:
        """Consumer "survivor": claims what is pending at once (claim-idle 0), drains the stream and
        exits after 1.5 s idle. Its stdout ("orders created <n>")."""
        claim_all = ["--claim-idle-ms", "0", "--idle-timeout", "1.5", "--writers", str(writers)]
        survivor = subprocess.run(
            [*self._command(campaign_id), "--consumer", "survivor", *claim_all],
            env=self.subprocess_env(),
            timeout=120,
            check=True,
            capture_output=True,
            text=True,
        )
        return survivor.stdout

    def _command(self, campaign_id: int) -> list[str]:
        return [*self.manage_py, "flashsale_worker", "--campaign", str(campaign_id)]


@pytest.fixture
def worker_processes(manage_py: list[str], subprocess_env: Callable[..., dict[str, str]]) -> WorkerProcesses:
    return WorkerProcesses(manage_py, subprocess_env)
