"""The load generator of the benchmarks: requests built as bytes before the clock starts, sent
over keep-alive connections from client threads, with their latencies and statuses."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass


@dataclass
class LoadResult:
    latencies: list[float]
    statuses: dict[int, int]
    seconds: float


def checkout_request(port: int, token: str, address_id: int) -> bytes:
    """One checkout as bytes on the wire, built before the clock starts."""
    body = json.dumps({"payment_method": "cod", "address_id": address_id}).encode()
    head = (
        f"POST /api/checkout/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HttpConnection:
    """A minimal HTTP/1.1 client: the load generator shares the 2 cores with the app, and
    ``http.client`` (header parsing through ``email``) cost it about twice the CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.pending = b""

    def _receive(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        return chunk

    def exchange(self, request: bytes) -> int:
        """Send one request and read its whole response; returns the status code."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.pending = b""
        self.sock.sendall(request)
        data = self.pending
        while b"\r\n\r\n" not in data:
            data += self._receive()
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.split(b"\r\n")
        headers = dict(line.split(b":", 1) for line in header_lines)
        headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
        length = int(headers[b"content-length"])  # Django's CommonMiddleware always sets it
        while len(data) < length:
            data += self._receive()
        self.pending = data[length:]
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def floor_request(port: int, product_id: int, customer_id: int) -> bytes:
    """One POST to the floor server (``bench/floor_urls.py``)."""
    body = json.dumps({"product": product_id, "customer": customer_id}).encode()
    head = (
        f"POST /floor/checkout/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def fire(port: int, requests: list[bytes], concurrency: int) -> LoadResult:
    requests = requests[:]
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def worker() -> None:
        conn = HttpConnection(port)
        while True:
            with lock:
                if not requests:
                    break
                request = requests.pop()
            started = time.perf_counter()
            status = conn.exchange(request)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(latencies, statuses, time.perf_counter() - started)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]
