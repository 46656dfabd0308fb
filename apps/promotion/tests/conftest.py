"""The real ASGI app under uvicorn on a free loopback port, for tests that need real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.pytest_plugin import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HotServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def session(self) -> requests.Session:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        session.mount("http://", adapter)
        return session


@pytest.fixture
def hot_server(subprocess_env) -> Iterator[Callable[..., HotServer]]:
    """start(**env) -> HotServer: config.asgi (hot routes + Django) under uvicorn, stopped after the test."""
    processes: list[subprocess.Popen] = []

    def start(workers: int = 1, **extra_env: str) -> HotServer:
        port = _free_port()
        env = subprocess_env(
            **{"FLASH_SALE_TOKEN_IP_BURST": "1000000", "FLASH_SALE_TOKEN_IP_RATE": "100000", **extra_env}
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return HotServer(url)
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not come up")

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
