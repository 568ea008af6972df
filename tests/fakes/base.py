"""A fake gateway: a real HTTP server on 127.0.0.1 with state, fault injection and webhooks.

Subclasses implement ``route()`` (the gateway's API) and ``signed_headers()`` (its webhook
signature). Everything here is thread-safe: the server answers on its own threads while the
test drives the fake from the main thread.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

# Upper bound for any injected delay: a fake never holds a test longer than this.
MAX_DELAY_SECONDS = 5.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able (Decimal allowed), or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    remaining: int
    path_contains: str | None
    status: int | None = None  # answer this status instead of calling the API
    delay: float = 0.0  # wait this long before answering (or failing)
    malformed: bool = False  # answer 200 with a truncated JSON body
    html: bool = False  # the error body is an HTML page, as proxies send
    drop: bool = False  # perform the call, then close the connection without an answer
    raw: bytes | None = None  # answer exactly these bytes (with ``status``, default 200)
    status_after: int | None = None  # perform the call, then answer this status (a 5xx)
    delay_after: float = 0.0  # perform the call, then answer this late (past the timeout)

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path_contains is None or self.path_contains in path)


@dataclass(frozen=True)
class SignedWebhook:
    event_type: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Delivery:
    webhook: SignedWebhook
    status_code: int | None
    error: str | None


def to_json_bytes(value: Any) -> bytes:
    def default(item: Any) -> Any:
        if isinstance(item, Decimal):
            # Gateways send JSON numbers; the provider parses them back as Decimal.
            return int(item) if item == item.to_integral_value() else float(item)
        raise TypeError(f"not JSON serialisable: {item!r}")

    return json.dumps(value, default=default, separators=(",", ":")).encode()


class FakeGateway:
    name = "fake"

    def __init__(self, *, secret_key: str) -> None:
        self.secret_key = secret_key
        self.lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.webhook_target: str | None = None
        self.webhook_timeout = 5.0
        self.webhook_retries = 0  # extra attempts, back to back, after a non-2xx or a timeout
        self.auto_deliver = True  # False: webhooks wait in `held` until release()
        self.outbox: list[SignedWebhook] = []
        self.held: list[SignedWebhook] = []
        self.deliveries: list[Delivery] = []
        self._faults: list[Fault] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeGateway:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=MAX_DELAY_SECONDS)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- misbehaviour on demand -----------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        path_contains: str | None = None,
        html: bool = False,
        delay: float = 0.0,
    ) -> None:
        """The next ``count`` matching calls answer ``status`` (after ``delay`` seconds)."""
        self._add_fault(
            Fault(
                count, path_contains, status=status, html=html, delay=min(delay, MAX_DELAY_SECONDS)
            )
        )

    def delay_next(self, count: int = 1, *, seconds: float, path_contains: str | None = None):
        """The next ``count`` matching calls answer normally, ``seconds`` late (bounded)."""
        self._add_fault(Fault(count, path_contains, delay=min(seconds, MAX_DELAY_SECONDS)))

    def malformed_next(self, count: int = 1, *, path_contains: str | None = None) -> None:
        self._add_fault(Fault(count, path_contains, malformed=True))

    def answer_next(
        self, count: int = 1, *, body: bytes, status: int = 200, path_contains: str | None = None
    ) -> None:
        """The next matching calls get exactly ``body`` (valid JSON of the wrong shape, say)."""
        self._add_fault(Fault(count, path_contains, status=status, raw=body))

    def drop_next(self, count: int = 1, *, path_contains: str | None = None) -> None:
        """Perform the next matching calls but lose the answer (connection closed)."""
        self._add_fault(Fault(count, path_contains, drop=True))

    def lose_answer_next(
        self, count: int = 1, *, how: str, path_contains: str | None = None
    ) -> None:
        """Perform the next matching calls, then lose the answer: ``drop`` (connection reset),
        ``timeout`` (answer after the client's read timeout) or ``server_error`` (a 500)."""
        faults = {
            "drop": Fault(count, path_contains, drop=True),
            "timeout": Fault(count, path_contains, delay_after=MAX_DELAY_SECONDS),
            "server_error": Fault(count, path_contains, status_after=500),
        }
        self._add_fault(faults[how])

    def _add_fault(self, fault: Fault) -> None:
        with self.lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(path):
                    fault.remaining -= 1
                    return fault
        return None

    def calls(self, method: str, path_contains: str = "") -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == method and path_contains in r.path]

    # --- webhooks -------------------------------------------------------------------------

    def signed_headers(self, body: bytes) -> dict[str, str]:
        raise NotImplementedError

    def emit(self, event_type: str, payload: Any) -> SignedWebhook:
        """Sign an event and deliver it (now, or on release() when webhooks are held)."""
        body = to_json_bytes(payload)
        webhook = SignedWebhook(event_type, self.signed_headers(body), body)
        with self.lock:
            self.outbox.append(webhook)
            if not self.auto_deliver:
                self.held.append(webhook)
                return webhook
        if self.webhook_target:
            self.deliver(webhook)
        return webhook

    def release(self, *, reverse: bool = False) -> list[Delivery]:
        """Deliver held webhooks in order, or newest first (out-of-order delivery)."""
        with self.lock:
            held, self.held = list(self.held), []
        return [self.deliver(w)[0] for w in (reversed(held) if reverse else held)]

    def deliver(
        self, webhook: SignedWebhook, *, times: int = 1, concurrently: bool = False
    ) -> list[Delivery]:
        """POST the exact same bytes ``times`` times; concurrently = all at once (a storm)."""
        if not self.webhook_target:
            raise RuntimeError("set webhook_target before delivering webhooks")
        if not concurrently:
            return [self._send_webhook(webhook) for _ in range(times)]
        results: list[Delivery] = []
        barrier = threading.Barrier(times)

        def send() -> None:
            barrier.wait(timeout=MAX_DELAY_SECONDS)
            delivery = self._send_webhook(webhook)
            with self.lock:
                results.append(delivery)

        threads = [threading.Thread(target=send) for _ in range(times)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.webhook_timeout + MAX_DELAY_SECONDS)
        return results

    def _send_webhook(self, webhook: SignedWebhook) -> Delivery:
        """One delivery, retried like the gateway would (compressed: no waiting between)."""
        assert self.webhook_target
        for _ in range(1 + self.webhook_retries):
            try:
                response = requests.post(
                    self.webhook_target,
                    data=webhook.body,
                    headers=webhook.headers,
                    timeout=self.webhook_timeout,
                )
                delivery = Delivery(webhook, response.status_code, None)
            except requests.RequestException as exc:
                delivery = Delivery(webhook, None, type(exc).__name__)
            with self.lock:
                self.deliveries.append(delivery)
            if delivery.status_code is not None and 200 <= delivery.status_code < 300:
                break
        return delivery

    # --- the API --------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    def bearer_ok(self, request: RecordedRequest) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.secret_key}"

    def error_body(self, status: int) -> Any:
        return {"status": False, "message": f"Fake {self.name} error {status}"}


def _handler_for(fake: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean; the fake has its own request log

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            with fake.lock:
                fake.requests.append(request)
            fault = fake._take_fault(url.path)
            if fault and fault.delay and fake._stopping.wait(fault.delay):
                return
            try:
                if fault and fault.raw is not None:
                    self._write(fault.status or 200, fault.raw)
                elif fault and fault.status is not None:
                    self._reply_error(fault.status, html=fault.html)
                elif fault and fault.malformed:
                    self._write(200, b'{"status": true, "data": {"authorization_url": ')
                else:
                    reply = fake.route(request)
                    if fault and fault.drop:
                        self.close_connection = True
                        return
                    if fault and fault.status_after is not None:
                        self._reply_error(fault.status_after, html=False)
                        return
                    if fault and fault.delay_after and fake._stopping.wait(fault.delay_after):
                        return
                    payload = (
                        reply.body if isinstance(reply.body, bytes) else to_json_bytes(reply.body)
                    )
                    content_type = (
                        "text/html" if isinstance(reply.body, bytes) else "application/json"
                    )
                    self._write(
                        reply.status, payload, {"Content-Type": content_type, **reply.headers}
                    )
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer

        def _reply_error(self, status: int, *, html: bool) -> None:
            if html:
                self._write(
                    status,
                    b"<html><body><h1>Bad gateway</h1></body></html>",
                    {"Content-Type": "text/html"},
                )
            else:
                self._write(status, to_json_bytes(fake.error_body(status)))

        def _write(
            self, status: int, payload: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
