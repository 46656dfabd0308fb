"""The flash-sale tests' real HTTP server: the shared uvicorn_server (tests/asgi_server.py) with
the per-IP token limit out of the way (every test client is 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.asgi_server import AsgiServer


@pytest.fixture
def hot_server(uvicorn_server) -> Callable[..., AsgiServer]:
    """start(workers=1, **env) -> AsgiServer: config.asgi (hot routes + Django) under uvicorn."""

    def start(workers: int = 1, **extra_env: str) -> AsgiServer:
        limits = {"FLASH_SALE_TOKEN_IP_BURST": "1000000", "FLASH_SALE_TOKEN_IP_RATE": "100000"}
        return uvicorn_server(workers=workers, **{**limits, **extra_env})

    return start
