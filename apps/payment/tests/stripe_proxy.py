"""An HTTP proxy in front of stripe-mock for the payment tests: it counts what reaches Stripe and
can lose answers on the way back (issue 12 #2's lost replies), with nothing mocked.

Every request is forwarded (so stripe-mock does the work). `calls` counts them per
"METHOD /path"; `log` keeps (route, Idempotency-Key) in order. While `lose` > 0, the next answer
is held for `hold_seconds` (past the client's read timeout) and the connection closed without it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class StripeProxy:
    def __init__(self, upstream: str, *, hold_seconds: float = 1.0) -> None:
        self.upstream, self.hold_seconds = upstream, hold_seconds
        self.lose = 0
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                route = f"{self.command} {self.path.split('?')[0]}"
                with proxy.lock:
                    proxy.calls[route] += 1
                    proxy.log.append((route, self.headers.get("Idempotency-Key")))
                    lose = proxy.lose > 0
                    proxy.lose -= lose
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=10
                )
                if lose:  # stripe-mock did it; the answer is lost on the way back
                    time.sleep(proxy.hold_seconds)
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                for name in ("Request-Id", "Idempotency-Key"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests_to(self, route: str) -> list[str | None]:
        """The Idempotency-Key of every request to `route`, in order."""
        with self.lock:
            return [key for logged, key in self.log if logged == route]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
