"""The `make run` path: SQLite, no Redis, a real server, driven over real HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
START_DEADLINE_SECONDS = 60
HTTP_TIMEOUT = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(sqlite_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="1",
        SQLITE_PATH=str(sqlite_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        DEMO_STAFF_PASSWORD="smoke-staff-password-1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed argv, our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _wait_until_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited during start-up"
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # polling interval while waiting on a deadline, not a fixed wait
    pytest.fail(f"the server did not answer /healthz within {START_DEADLINE_SECONDS}s")


@pytest.mark.slow
def test_embedded_default_serves_register_token_browse_cart_and_checkout(tmp_path):
    env = _embedded_env(tmp_path / "shop.sqlite3")
    _manage(env, "migrate", "--noinput")
    assert "Products: 12 created" in _manage(env, "seed_demo")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - fixed argv, our own manage.py
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_healthy(base, server)
        http = requests.Session()

        ready = http.get(f"{base}/readyz", timeout=HTTP_TIMEOUT)
        assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}

        registered = http.post(
            f"{base}/api/auth/register/",
            json={
                "email": "smoke@example.com",
                "password": "lagos-sunrise-2026",
                "first_name": "Smoke",
                "last_name": "Test",
                "phone": "08031234567",
            },
            timeout=HTTP_TIMEOUT,
        )
        assert registered.status_code == 201, registered.text

        token = http.post(
            f"{base}/api/auth/token/",
            json={"email": "smoke@example.com", "password": "lagos-sunrise-2026"},
            timeout=HTTP_TIMEOUT,
        ).json()["token"]
        http.headers["Authorization"] = f"Token {token}"

        products = http.get(f"{base}/api/products/?search=serum", timeout=HTTP_TIMEOUT).json()
        assert products["count"] == 3
        serum = next(p for p in products["results"] if p["sku"] == "SKN-SER-001")
        assert (serum["price"], serum["currency"], serum["available"]) == ("15500.00", "NGN", 18)

        added = http.post(
            f"{base}/api/cart/items/",
            json={"product_id": serum["id"], "quantity": 2},
            timeout=HTTP_TIMEOUT,
        )
        assert added.status_code == 201, added.text
        cart = http.get(f"{base}/api/cart/", timeout=HTTP_TIMEOUT).json()
        assert (cart["item_count"], cart["currency"], cart["total"]) == (2, "NGN", "31000.00")

        address = http.post(
            f"{base}/api/addresses/",
            json={
                "full_name": "Smoke Test",
                "phone": "08031234567",
                "line1": "1 Marina Road",
                "city": "Lagos",
                "country": "NG",
            },
            timeout=HTTP_TIMEOUT,
        )
        assert address.status_code == 201, address.text
        checkout = {"payment_method": "cod", "address_id": address.json()["id"]}
        placed = http.post(
            f"{base}/api/checkout/",
            json=checkout,
            headers={"Idempotency-Key": "smoke-checkout-1"},
            timeout=HTTP_TIMEOUT,
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert (order["state"], order["total"], order["items"][0]["quantity"]) == (
            "pending_payment",
            "31000.00",
            2,
        )
        assert order["shipping_address"]["line1"] == "1 Marina Road"
        replayed = http.post(
            f"{base}/api/checkout/",
            json=checkout,
            headers={"Idempotency-Key": "smoke-checkout-1"},
            timeout=HTTP_TIMEOUT,
        )
        assert (replayed.status_code, replayed.headers["Idempotent-Replayed"]) == (201, "true")
        assert replayed.json() == order
        held = http.get(f"{base}/api/products/{serum['id']}/", timeout=HTTP_TIMEOUT).json()
        assert held["available"] == 16
        assert http.get(f"{base}/api/cart/", timeout=HTTP_TIMEOUT).json()["item_count"] == 0

        anonymous = requests.get(f"{base}/api/cart/", timeout=HTTP_TIMEOUT)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "not_authenticated"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
