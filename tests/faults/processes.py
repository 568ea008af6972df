"""What the fault tests break: a throw-away PostgreSQL cluster, `celery beat`, and helpers to
hold a row lock, find a backend waiting on it and terminate it.

The shared PostgreSQL and Redis are never stopped: a test that stops a service starts its own
(``PrivatePostgres`` here, ``tests.servers.PrivateRedis``). ``pg_terminate_backend`` is only
ever aimed at backends of the test's own database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.fakes.base import FakeGateway
from tests.fakes.smtp_server import FakeSmtpServer
from tests.servers import (
    PROJECT_DIR,
    START_DEADLINE_SECONDS,
    app_environment,
    free_port,
    stop_process,
)


def shop_environment(
    *,
    database: str,
    redis_url: str,
    paystack: FakeGateway | None = None,
    smtp: FakeSmtpServer | None = None,
    **settings: str,
) -> dict[str, str]:
    """The production environment of the app's processes, with the fake Paystack as its
    gateway and the fake SMTP server as its mail server when given."""
    env = app_environment(DATABASE_URL=database, REDIS_URL=redis_url, **settings)
    if paystack is not None:
        env.update(PAYSTACK_BASE_URL=paystack.base_url, PAYSTACK_SECRET_KEY=paystack.secret_key)
    if smtp is not None:
        env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port), EMAIL_USE_TLS="0")
    return env


def _postgres_tool(name: str) -> str:
    """Debian keeps the server's tools out of PATH, under /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise FileNotFoundError(f"{name} (PostgreSQL's server tools) is not installed")
    return found if isinstance(found, str) else found[0]


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temporary folder, on a free port; stopped
    and started at will, and removed afterwards. Run as the ``postgres`` user when the suite
    runs as root (initdb refuses root)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
            [*self._as_user, *command], check=True, capture_output=True, timeout=120
        )

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            self._run(
                _postgres_tool("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--no-sync",
            )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c max_connections=100"
        )
        self._run(
            _postgres_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-t", str(START_DEADLINE_SECONDS), "-l", str(self.directory / "server.log"), "start",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown that ends every session, as a restart does."""
        self._run(_postgres_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def copy_database(self, source_url: str, name: str) -> str:
        """A copy (schema and rows) of the database at ``source_url``; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        dump = subprocess.run(  # noqa: S603 - PostgreSQL's client, fixed arguments
            [_postgres_tool("pg_dump"), "--no-owner", "--format=custom", source_url],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(  # noqa: S603 - PostgreSQL's client, fixed arguments
            [_postgres_tool("pg_restore"), "--no-owner", "-d", self.url(name)],
            input=dump.stdout, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class CeleryBeat:
    """``celery -A config beat`` with the given environment and a schedule file of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.directory = Path(tempfile.mkdtemp(prefix="faults-beat-"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryBeat:
        log = (self.directory / "beat.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                "--schedule", str(self.directory / "celerybeat-schedule"),
            ],
            cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return self

    def log(self) -> str:
        path = self.directory / "beat.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def row_locked(database_url: str, table: str, row_id: int) -> Iterator[psycopg.Connection]:
    """Hold ``SELECT … FOR UPDATE`` on one row from a connection of the test's own until the
    block ends (then roll back): whoever needs the row waits on it meanwhile."""
    with psycopg.connect(database_url) as conn:
        conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [row_id])  # noqa: S608
        try:
            yield conn
        finally:
            conn.rollback()


def backends_waiting_on_a_lock(database_url: str) -> list[int]:
    """Backends of this database (only) that wait for a row or table lock."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def terminate_backend(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        (terminated,) = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid = %s AND datname = current_database()",
            [pid],
        ).fetchone() or (False,)
    assert terminated, f"backend {pid} is not one of this database's"


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []
