"""A real Celery worker in a subprocess, on real Redis and the test database.

Each worker consumes its own queue (a random name), so parallel test runs and other
developers' workers on the same Redis never take its messages.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app
from notifications import services as notifications
from tests.servers import stop_process

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "") -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)  # polling interval, not a wait for the outcome


def database_url_for_tests() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(
        self, *, pool: str = "solo", concurrency: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.extra_env = env or {}
        self.queue = f"test-ops-{uuid.uuid4().hex[:12]}"
        self.name = f"{self.queue}@localhost"
        self.pool = pool
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"{self.queue}.log"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "DB_CONN_MAX_AGE": "0",
            **self.extra_env,
        }
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--pool", self.pool, "--concurrency", str(self.concurrency),
                "-Q", self.queue, "-n", self.name, "--loglevel", "INFO",
                "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self._answers_ping, timeout=60, what=f"worker {self.name} to start")

    def _answers_ping(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited early:\n{self.log()}")
        return bool(app.control.ping(destination=[self.name], timeout=0.5))

    def send(self, task, *args, **kwargs) -> None:
        with tasks_sent_to_broker():
            task.apply_async(args=args, kwargs=kwargs, queue=self.queue)

    def pool_children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill_pool_children(self) -> list[int]:
        children = self.pool_children()
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        return children

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)
        self.log_path.unlink(missing_ok=True)


@contextmanager
def running_worker(**options):
    worker = Worker(**options)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@contextmanager
def tasks_sent_to_broker():
    """The test settings run tasks inline; inside this block ``delay()`` really publishes."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        notifications.WAKE_UP.run_now()  # wake-ups asked for in here are published in here
        app.conf.task_always_eager = previous


@contextmanager
def broker_at(url: str):
    """Point this process's Celery producer at ``url`` (e.g. a closed port: "Redis down")."""
    previous = app.conf.broker_url
    _reset_producer_pools(url)
    try:
        yield
    finally:
        _reset_producer_pools(previous)


def _reset_producer_pools(url: str) -> None:
    # Not closed: kombu keeps producer pools per broker URL and reuses them on the way back.
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
