"""`uvicorn_server`: config.asgi (hot routes + Django) under uvicorn on a free loopback port.

One fixture for every test that needs the real ASGI app over HTTP (catalog's cached answers,
inventory's hot read, the flash-sale endpoints, the user context's deactivation check): each
server gets this test's database, Redis database and topics (`subprocess_env`), and is stopped
after the test.

    def test_something(uvicorn_server):
        server = uvicorn_server(SOME_SETTING="1")   # workers=2 for more than one process
        server.session().get(f"{server.url}/api/v1/...")
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.pytest_plugin import ROOT
from tests.stack import free_port


class AsgiServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def session(self) -> requests.Session:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        session.mount("http://", adapter)
        return session


@pytest.fixture
def uvicorn_server(subprocess_env) -> Iterator[Callable[..., AsgiServer]]:
    """start(workers=1, **env) -> AsgiServer, up once /healthz answers 200."""
    processes: list[subprocess.Popen] = []

    def start(workers: int = 1, **extra_env: str) -> AsgiServer:
        port = free_port()
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
            env=subprocess_env(**extra_env),
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return AsgiServer(url)
            except requests.RequestException:
                # Under load a booting worker may accept and answer late (ReadTimeout, not a
                # ConnectionError): keep polling until the deadline rather than failing the test.
                pass
            time.sleep(0.2)
        raise RuntimeError("uvicorn did not come up")

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
