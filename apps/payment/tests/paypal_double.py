"""A local stand-in for PayPal's REST API (PayPal cannot run here), speaking the documented shapes.

Endpoints: POST /v1/oauth2/token, POST /v2/checkout/orders, GET /v2/checkout/orders/{id},
POST /v2/checkout/orders/{id}/capture, POST /v2/payments/captures/{id}/refund,
POST /v1/notifications/verify-webhook-signature, and GET /checkoutnow?token= (the buyer's
approval page: approves the order and redirects to its return_url).

It is stateful like PayPal (orders move CREATED → APPROVED → COMPLETED), honours
PayPal-Request-Id (the same id replays the first answer), checks bearer tokens, and can be
told to fail (`double.fail_with = 503`) or to apply a request and lose its answer
(`double.lose_replies = {"POST /v2/checkout/orders/{id}/capture": 1}`: the next such request
is applied, then the connection is held past the client's timeout and closed unanswered).
`double.request_log` lists (route, PayPal-Request-Id) of every API request.
Webhooks: `double.deliver(event)` returns the headers PayPal would send; the verify endpoint
answers SUCCESS only for a transmission it sent, with the same webhook id and the same event
body, as PayPal's own verification would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class PayPalDouble:
    def __init__(
        self,
        *,
        client_id: str = "double-client",
        client_secret: str = "double-secret",  # noqa: S107 - a test double
        webhook_id: str = "WH-DOUBLE",
    ):
        self.client_id, self.client_secret, self.webhook_id = client_id, client_secret, webhook_id
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.request_ids: dict[tuple[str, str], tuple[int, dict]] = {}
        self.transmissions: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.fail_with: int | None = None
        self.lose_replies: Counter[str] = Counter()
        self.lose_hold_seconds = 1.5
        self.request_log: list[tuple[str, str | None]] = []
        # PayPal answers PENDING for refunds it settles later (e.g. eCheck captures).
        self.refund_status = "COMPLETED"
        self._signing_key = secrets.token_bytes(32)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PayPalDouble:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- test controls ------------------------------------------------------------------------
    def approve(self, order_id: str) -> None:
        with self.lock:
            self.orders[order_id]["status"] = "APPROVED"

    def deliver(
        self, event: dict[str, Any], *, webhook_id: str | None = None, when: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers PayPal would POST to our webhook for `event`."""
        body = json.dumps(event).encode()
        transmission_id = str(uuid.uuid4())
        sent_at = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = base64.b64encode(
            hmac.new(self._signing_key, f"{transmission_id}|{sent_at}".encode(), hashlib.sha256).digest()
        ).decode()
        self.transmissions[transmission_id] = {
            "sig": signature,
            "time": sent_at,
            "webhook_id": webhook_id or self.webhook_id,
            "event": json.loads(body),
        }
        return body, {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": sent_at,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": f"{self.url}/v1/notifications/certs/CERT-double",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def capture_event(
        self, capture_id: str, *, event_type: str = "PAYMENT.CAPTURE.COMPLETED", amount: dict | None = None
    ) -> dict:
        capture = dict(self.captures[capture_id])
        if amount is not None:
            capture["amount"] = amount
        return {
            "id": f"WH-{uuid.uuid4().hex[:17].upper()}",
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": "capture",
            "event_type": event_type,
            "summary": "Payment completed",
            "resource": capture,
        }

    def settle_refund(self, refund_id: str) -> None:
        with self.lock:
            self.refunds[refund_id]["status"] = "COMPLETED"

    def refund_event(self, refund_id: str) -> dict:
        return {
            "id": f"WH-{uuid.uuid4().hex[:17].upper()}",
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": "refund",
            "event_type": "PAYMENT.CAPTURE.REFUNDED",
            "summary": "A capture was refunded",
            "resource": self.refunds[refund_id],
        }

    # --- HTTP ---------------------------------------------------------------------------------
    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                raw = self._body()
                path = urlsplit(self.path).path
                with double.lock:
                    double.calls[f"{method} {_route(path)}"] += 1
                if path == "/checkoutnow":
                    return self._approve_page()
                if double.fail_with:
                    return self._send(double.fail_with, {"name": "SERVICE_UNAVAILABLE", "message": "double is down"})
                if path == "/v1/oauth2/token":
                    return self._token(raw)
                if self.headers.get("Authorization", "").removeprefix("Bearer ") not in double.tokens:
                    return self._send(
                        401, {"error": "invalid_token", "error_description": "Token signature verification failed"}
                    )
                body = json.loads(raw) if raw else {}
                key = self.headers.get("PayPal-Request-Id")
                route = f"{method} {_route(path)}"
                with double.lock:
                    double.request_log.append((route, key))
                    lose = double.lose_replies[route] > 0
                    double.lose_replies[route] -= lose
                if key and (path, key) in double.request_ids:
                    status, answer = double.request_ids[(path, key)]
                else:
                    status, answer = double._route(method, path, body)
                    if key and status < 500:
                        double.request_ids[(path, key)] = (status, answer)
                if lose:  # applied above; the answer never reaches the client
                    time.sleep(double.lose_hold_seconds)
                    self.close_connection = True
                    return None
                self._send(status, answer)

            def _token(self, raw: bytes) -> None:
                expected = base64.b64encode(f"{double.client_id}:{double.client_secret}".encode()).decode()
                form = parse_qs(raw.decode())
                if self.headers.get("Authorization") != f"Basic {expected}" or form.get("grant_type") != [
                    "client_credentials"
                ]:
                    return self._send(
                        401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
                    )
                token = f"A21AA{secrets.token_hex(16)}"
                double.tokens.add(token)
                self._send(
                    200,
                    {
                        "scope": "https://uri.paypal.com/services/payments",
                        "access_token": token,
                        "token_type": "Bearer",
                        "app_id": "APP-DOUBLE",
                        "expires_in": 32400,
                        "nonce": _now(),
                    },
                )

            def _approve_page(self) -> None:
                token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
                order = double.orders.get(token)
                if order is None:
                    return self._send(404, {"name": "RESOURCE_NOT_FOUND"})
                order["status"] = "APPROVED"
                return_url = order.get("_return_url") or "/"
                sep = "&" if "?" in return_url else "?"
                self._send(302, None, {"Location": f"{return_url}{sep}token={token}&PayerID=DOUBLEPAYER"})

        return Handler

    def _route(self, method: str, path: str, body: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        with self.lock:
            if method == "POST" and path == "/v2/checkout/orders":
                return self._create_order(body)
            if method == "GET" and parts[:3] == ["v2", "checkout", "orders"] and len(parts) == 4:
                order = self.orders.get(parts[3])
                return (200, _public(order)) if order else (404, _not_found())
            if method == "POST" and parts[:3] == ["v2", "checkout", "orders"] and parts[4:] == ["capture"]:
                return self._capture(parts[3])
            if method == "POST" and parts[:3] == ["v2", "payments", "captures"] and parts[4:] == ["refund"]:
                return self._refund(parts[3], body)
            if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
                return self._verify(body)
        return 404, _not_found()

    def _create_order(self, body: dict) -> tuple[int, dict]:
        units = body.get("purchase_units") or []
        if body.get("intent") != "CAPTURE" or len(units) != 1 or not units[0].get("amount", {}).get("value"):
            return 400, {
                "name": "INVALID_REQUEST",
                "message": "Request is not well-formed",
                "details": [{"issue": "MISSING_REQUIRED_PARAMETER"}],
            }
        order_id = uuid.uuid4().hex[:17].upper()
        context = (body.get("payment_source") or {}).get("paypal", {}).get("experience_context", {})
        self.orders[order_id] = {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "PAYER_ACTION_REQUIRED",
            "purchase_units": [{**units[0], "payments": {"captures": []}}],
            "create_time": _now(),
            "links": [
                {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/checkoutnow?token={order_id}", "rel": "payer-action", "method": "GET"},
            ],
            "_return_url": context.get("return_url", ""),
        }
        return 200, _public(self.orders[order_id])

    def _capture(self, order_id: str) -> tuple[int, dict]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, _not_found()
        if order["status"] == "COMPLETED":
            return 422, {
                "name": "UNPROCESSABLE_ENTITY",
                "message": "The requested action could not be performed",
                "details": [{"issue": "ORDER_ALREADY_CAPTURED"}],
            }
        if order["status"] != "APPROVED":
            return 422, {
                "name": "UNPROCESSABLE_ENTITY",
                "message": "The requested action could not be performed",
                "details": [{"issue": "ORDER_NOT_APPROVED"}],
            }
        unit = order["purchase_units"][0]
        capture_id = uuid.uuid4().hex[:17].upper()
        capture = {
            "id": capture_id,
            "status": "COMPLETED",
            "amount": dict(unit["amount"]),
            "final_capture": True,
            "custom_id": unit.get("custom_id"),
            "create_time": _now(),
            "supplementary_data": {"related_ids": {"order_id": order_id}},
            "links": [
                {"href": f"{self.url}/v2/payments/captures/{capture_id}/refund", "rel": "refund", "method": "POST"}
            ],
        }
        self.captures[capture_id] = capture
        unit["payments"]["captures"].append(capture)
        order["status"] = "COMPLETED"
        return 201, _public(order)

    def _refund(self, capture_id: str, body: dict) -> tuple[int, dict]:
        capture = self.captures.get(capture_id)
        if capture is None:
            return 404, _not_found()
        currency = capture["amount"]["currency_code"]
        amount = body.get("amount") or capture["amount"]
        refunded = sum(_cents(r["amount"]["value"]) for r in self.refunds.values() if r["_capture"] == capture_id)
        if refunded + _cents(amount["value"]) > _cents(capture["amount"]["value"]):
            return 422, {
                "name": "UNPROCESSABLE_ENTITY",
                "details": [{"issue": "REFUND_AMOUNT_EXCEEDED"}],
                "message": "The refund amount must be less than or equal to the capture amount",
            }
        refund_id = uuid.uuid4().hex[:17].upper()
        self.refunds[refund_id] = {
            "id": refund_id,
            "status": self.refund_status,
            "amount": {"value": amount["value"], "currency_code": currency},
            "custom_id": capture.get("custom_id"),
            "create_time": _now(),
            "links": [
                {"href": f"{self.url}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
            ],
            "_capture": capture_id,
        }
        return 201, _public(self.refunds[refund_id])

    def _verify(self, body: dict) -> tuple[int, dict]:
        sent = self.transmissions.get(body.get("transmission_id", ""))
        ok = (
            sent is not None
            and hmac.compare_digest(sent["sig"], body.get("transmission_sig", ""))
            and sent["time"] == body.get("transmission_time")
            and sent["webhook_id"] == body.get("webhook_id") == self.webhook_id
            and sent["event"] == body.get("webhook_event")
        )
        return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}


def _route(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts[:3] == ["v2", "checkout", "orders"] and len(parts) >= 4:
        parts[3] = "{id}"
    if parts[:3] == ["v2", "payments", "captures"] and len(parts) >= 4:
        parts[3] = "{id}"
    return "/" + "/".join(parts)


def _public(resource: dict) -> dict:
    return json.loads(json.dumps({k: v for k, v in resource.items() if not k.startswith("_")}))


def _not_found() -> dict:
    return {
        "name": "RESOURCE_NOT_FOUND",
        "message": "The specified resource does not exist.",
        "details": [{"issue": "INVALID_RESOURCE_ID"}],
    }


def _cents(value: str) -> int:
    whole, _, frac = value.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
