"""Fixtures of the payment flow tests: fakes for the module, a real Celery worker, settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from config.celery import app as celery_app
from shop.platform_settings import set_setting
from tests.conftest import clear_own_cache
from tests.fakes.flutterwave import FakeFlutterwave
from tests.fakes.paystack import FakePaystack
from tests.fakes.stripe import FakeStripe

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Gateways:
    paystack: FakePaystack
    stripe: FakeStripe
    flutterwave: FakeFlutterwave

    def by_name(self, name: str):
        return getattr(self, name)

    def env(self) -> dict[str, str]:
        return {
            "PAYSTACK_BASE_URL": self.paystack.base_url,
            "PAYSTACK_SECRET_KEY": self.paystack.secret_key,
            "STRIPE_API_BASE": self.stripe.base_url,
            "STRIPE_SECRET_KEY": self.stripe.secret_key,
            "STRIPE_WEBHOOK_SECRET": self.stripe.webhook_secret,
            "FLUTTERWAVE_BASE_URL": self.flutterwave.base_url,
            "FLUTTERWAVE_SECRET_KEY": self.flutterwave.secret_key,
            "FLUTTERWAVE_WEBHOOK_HASH": self.flutterwave.webhook_hash,
        }


@pytest.fixture(scope="module")
def gateways() -> Iterator[Gateways]:
    fakes = Gateways(FakePaystack().start(), FakeStripe().start(), FakeFlutterwave().start())
    yield fakes
    for fake in (fakes.paystack, fakes.stripe, fakes.flutterwave):
        fake.stop()


@pytest.fixture
def gateway_settings(settings, gateways, backoff_sleeps):
    for name, value in gateways.env().items():
        setattr(settings, name, value)
    settings.PAYMENT_HTTP_CONNECT_TIMEOUT = 2
    settings.PAYMENT_HTTP_READ_TIMEOUT = 2
    settings.PAYMENT_HTTP_MAX_RETRIES = 2
    return gateways


class Worker:
    """A `celery worker --pool solo` subprocess on a queue of its own, on the test database."""

    def __init__(self, queue: str, env: dict[str, str]) -> None:
        self.queue = queue
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "-Q",
                self.queue,
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=None,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker, gateways) -> Iterator[Worker]:
    queue = f"payments-test-{uuid.uuid4().hex[:8]}"
    db = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        **gateways.env(),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": django_settings.REDIS_URL,
        "PAYMENT_HTTP_READ_TIMEOUT": "2",
        "PAYMENT_HTTP_CONNECT_TIMEOUT": "2",
        "DEBUG": "0",
    }
    worker = Worker(queue, env)
    worker.start()
    yield worker
    worker.stop()


def worker_is_idle(queue: str) -> bool:
    """Nothing waits in the queue (any priority) and nothing is being worked on (unacked)."""
    broker = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        waiting = sum(broker.llen(key) for key in broker.scan_iter(match=f"{queue}*"))
        return waiting == 0 and broker.hlen("unacked") == 0
    finally:
        broker.close()


def drain(worker: Worker, *, seconds: float = 20.0) -> None:
    """Let the worker finish what the test queued before the test database is flushed.

    A task still running (e.g. Stripe's second success event) would hold row locks that the
    flush's TRUNCATE deadlocks on. When the queue does not empty in time (a retry waiting for
    its countdown), a warm shutdown finishes the running task; the next test restarts it.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker_is_idle(worker.queue):
            return
        time.sleep(0.05)  # polling Redis for an empty queue, bounded by the deadline
    worker.stop()


@pytest.fixture
def live_celery(celery_worker_process, settings) -> Iterator[Worker]:
    """Tasks go over Redis to the worker (not eagerly in the test process)."""
    conf = celery_app.conf
    before = (conf.task_always_eager, conf.task_default_queue)
    conf.task_always_eager = False
    conf.task_default_queue = celery_worker_process.queue
    celery_worker_process.start()
    yield celery_worker_process
    drain(celery_worker_process)
    conf.task_always_eager, conf.task_default_queue = before


@pytest.fixture
def e2e(transactional_db, live_server, live_celery, gateway_settings, customer):
    """Everything a purchase needs: gateways aimed at the live server, a worker, a customer."""
    clear_own_cache()
    set_setting(
        "checkout.allowed_payment_methods",
        ["paystack", "stripe", "flutterwave", "bank_transfer", "cod"],
    )
    for name in ("paystack", "stripe", "flutterwave"):
        fake = gateway_settings.by_name(name)
        fake.webhook_target = f"{live_server.url}/api/webhooks/{name}/"
        with fake.lock:  # the fakes live for the module: forget the previous test's mischief
            fake._faults.clear()
            fake.held.clear()
        fake.auto_deliver = True
        fake.webhook_retries = 0
    return gateway_settings


@pytest.fixture
def staff_user(db):
    from tests.factories import StaffFactory

    return StaffFactory()


@pytest.fixture(autouse=True)
def _fresh_platform_settings():
    """set_setting invalidates the cache on commit, which a rolled-back test never reaches."""
    from shop.platform_settings import invalidate_cache

    invalidate_cache()
    yield
    invalidate_cache()
