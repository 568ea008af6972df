"""Real processes for the tests: gunicorn app servers, Celery workers, a private Redis.

The processes get an explicit environment (``app_environment``), the way a container would,
so what they share with the test process is only what the test hands them: the database, the
Redis and whatever else it names.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
from celery import Celery

PROJECT_DIR = Path(__file__).resolve().parent.parent
START_DEADLINE_SECONDS = 60


def stop_process(process: subprocess.Popen[bytes] | None, *, timeout: float = 20) -> None:
    """SIGTERM (a graceful shutdown), then SIGKILL if it is still there after ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url(settings_dict: dict[str, Any]) -> str:
    """The URL of a Django database alias's settings (the test database, once created)."""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{settings_dict['USER']}{password}@{host}:{port}/{settings_dict['NAME']}"


def app_environment(**values: str) -> dict[str, str]:
    """A production-like process environment: PATH and the given settings, nothing inherited."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-app-server-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "0",
    }
    env.update(values)
    return env


class AppServer:
    """``gunicorn config.wsgi`` on a free port of 127.0.0.1 with the given environment."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, name: str = "app") -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"gunicorn-{name}-{self.port}.log"

    def start(self) -> AppServer:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                "--timeout", "60", "--graceful-timeout", "5",
            ],
            cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited during start-up:\n{self.log()}")
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still importing
                pass
            time.sleep(0.1)  # polling interval while waiting on a deadline, not a fixed wait
        output = self.log()
        self.stop()  # never leave a half-started server behind
        raise AssertionError(f"gunicorn did not answer /healthz in time:\n{output}")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
        self.log_path.unlink(missing_ok=True)


@contextmanager
def app_servers(*envs: dict[str, str], workers: int = 2) -> Iterator[list[AppServer]]:
    """Start one app server per environment; stop them all on the way out."""
    with ExitStack() as stack:
        servers = []
        for number, env in enumerate(envs, start=1):
            server = AppServer(env, workers=workers, name=f"app{number}")
            stack.callback(server.stop)
            servers.append(server.start())
        yield servers


class PrivateRedis:
    """A redis-server of the test's own on a free port (nothing shared with other runs)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the private redis-server did not start")
            time.sleep(0.05)  # polling interval while waiting on a deadline
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.process)


class CeleryWorker:
    """``celery -A config worker`` with the given environment; no ``-Q`` unless queues are
    named, so it consumes what the configuration declares, as a plain worker does."""

    def __init__(
        self, env: dict[str, str], *, queues: list[str] | None = None, concurrency: int = 1
    ) -> None:
        self.env = env
        self.queues = queues
        self.concurrency = concurrency
        self.name = f"test-worker-{free_port()}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"{self.name.partition('@')[0]}.log"
        # Not the current app: tasks of the test process keep publishing to the test broker.
        self.control = Celery(broker=env["REDIS_URL"], set_as_current=False).control

    def start(self) -> CeleryWorker:
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-n", self.name,
            "--pool", "prefork", "--concurrency", str(self.concurrency), "--loglevel", "INFO",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if self.queues:
            command += ["-Q", ",".join(self.queues)]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not self.control.ping(destination=[self.name], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.log()
                self.stop()
                raise AssertionError(f"the worker did not start:\n{output}")
        return self

    def consumed_queues(self) -> set[str]:
        replies = self.control.inspect(destination=[self.name], timeout=5).active_queues() or {}
        return {queue["name"] for queue in replies.get(self.name, [])}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, timeout=30)  # a warm shutdown finishes the running task
        self.log_path.unlink(missing_ok=True)
