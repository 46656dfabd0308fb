"""The real serving stack for tests that must go through it: nginx edge + Django's server + hot path.

Headers, proxies, limits, cookies and timeouts behave differently behind a real edge and real app
servers than in Django's test client. `start_stack()` renders the SAME topology as `scripts/run`
(config/topology.py: the same nginx routes, server flags and supervisord programs) on free
loopback ports under a temporary folder, runs it under supervisord, waits until the edge reaches
both upstreams, and stops everything afterwards.

    def test_something(real_stack):
        stack = real_stack(API_RATE_LIMIT="5/s")       # extra environment for the app processes
        response = stack.get("/healthz")               # through nginx -> Django
        stack.kill("web")                              # SIGKILL the gunicorn master; supervisord restarts it

The `real_stack` fixture serves the test's own database (it needs `transactional_db`, so the data a
test writes is committed and visible to the servers), its Redis database and Kafka topic prefix.
`start_stack(env)` is the plain context manager for callers with their own services (tests/faults).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from supervisor.xmlrpc import SupervisorTransport

from config.topology import Topology

ROOT = Path(__file__).resolve().parent.parent
SUPERVISORD = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "supervisord"
# A request that the edge answers with one of these did not reach an app server.
EDGE_ERRORS = {502, 503, 504}
# A hot-path URL that needs no data: the hot router answers 401 (no token) when it is up.
HOT_PROBE = "/api/v1/flash-sales/reservations/1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    topology: Topology
    process: subprocess.Popen
    session: requests.Session

    @property
    def url(self) -> str:
        return self.topology.url

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    # --- supervision -------------------------------------------------------------------------
    @property
    def rpc(self):
        transport = SupervisorTransport(serverurl=f"unix://{self.topology.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def info(self, name: str) -> dict:
        """supervisord's view of one program: statename, pid, start, ..."""
        return self.rpc.getProcessInfo(name)

    def pid(self, name: str) -> int:
        return int(self.info(name)["pid"])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send `sig` to the program's main process (not through supervisord); its pid."""
        pid = self.pid(name)
        os.kill(pid, sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 30) -> int:
        """Wait until supervisord runs `name` again under a new pid; that pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.info(name)
            if info["statename"] == "RUNNING" and info["pid"] not in (0, old_pid):
                return int(info["pid"])
            time.sleep(0.2)
        raise AssertionError(f"{name} not restarted in {timeout}s: {self.info(name)}")

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the edge answers from Django (/healthz 200) and from the hot path (not 50x).

        Only the programs this stack runs are probed (an edge alone: its port answers).
        """
        programs = set(self.topology.programs())
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"supervisord exited ({self.process.returncode}):\n{self.logs()}")
            try:
                if "edge" not in programs:
                    return
                if not programs & {"web", "hot"}:
                    socket.create_connection(("127.0.0.1", self.topology.edge_port), timeout=1).close()
                    return
                web = self.get("/healthz", timeout=2).status_code if "web" in programs else 200
                hot = self.get(HOT_PROBE, timeout=2).status_code if "hot" in programs else 200
                if web == 200 and hot not in EDGE_ERRORS:
                    return
                last = (web, hot)
            except (requests.RequestException, OSError) as exc:
                last = exc
            time.sleep(0.2)
        raise RuntimeError(f"stack not ready in {timeout}s (last: {last}):\n{self.logs()}")

    def log(self, name: str) -> str:
        path = self.topology.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, tail: int = 40) -> str:
        parts = []
        for path in sorted(self.topology.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)


@contextlib.contextmanager
def start_stack(
    env: dict[str, str], *, programs: tuple[str, ...] = ("web", "hot", "edge"), timeout: float = 60, **topology: object
) -> Iterator[Stack]:
    """Run the scripts/run topology (`programs` of it) with `env` as every process's environment."""
    # A short folder of our own: supervisord's unix socket path must stay under 108 bytes.
    out = Path(tempfile.mkdtemp(prefix="nc-stack-"))
    # mkdtemp makes it 0700: nginx's workers (user nobody) could not reach their client-body
    # temp files under it, and every request body too big for memory was a 500 from the edge.
    out.chmod(0o755)
    ports = {"edge_port": free_port(), "web_port": free_port(), "hot_port": free_port()}
    topo = Topology(out=out, only=list(programs), **(ports | topology))
    conf = topo.render()
    process = subprocess.Popen(
        [str(SUPERVISORD), "-c", str(conf)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, which stops us in order
    )
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64))
    stack = Stack(topology=topo, process=process, session=session)
    try:
        stack.wait_ready(timeout)
        yield stack
    finally:
        session.close()
        process.send_signal(signal.SIGTERM)  # supervisord stops every program (TERM, then KILL after 20 s)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        shutil.rmtree(out, ignore_errors=True)


def stack_env(subprocess_env: Callable[..., dict[str, str]], **extra: str) -> dict[str, str]:
    """The test's database/Redis/topics, the edge as the only trusted proxy, plus `extra`."""
    return subprocess_env(**{"TRUSTED_PROXIES": "127.0.0.1/32,::1/128", "LOG_LEVEL": "WARNING", **extra})


@pytest.fixture
def real_stack(transactional_db, subprocess_env) -> Iterator[Callable[..., Stack]]:
    """start(programs=("web", "hot", "edge"), **env) -> Stack, stopped after the test."""
    with contextlib.ExitStack() as stacks:

        def start(programs: tuple[str, ...] = ("web", "hot", "edge"), **env: str) -> Stack:
            return stacks.enter_context(start_stack(stack_env(subprocess_env, **env), programs=programs))

        yield start
