"""A private PgBouncer (Debian's package) in transaction mode in front of the test database.

Started with the ``[pgbouncer]`` settings of deploy/pgbouncer/pgbouncer.ini, so what the suite
runs through is the configuration the deploy guide ships; only where it listens, how it
authenticates (trust, to the test server) and where it forwards are the test's own. The
``database_route`` fixture (tests/conftest.py) points Django's connections at it.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from django.db import connections

from tests.servers import PROJECT_DIR, free_port, stop_process

SHIPPED_CONFIG = PROJECT_DIR / "deploy" / "pgbouncer" / "pgbouncer.ini"
# Debian installs it in /usr/sbin, which a non-root PATH often lacks.
EXECUTABLE = shutil.which("pgbouncer") or shutil.which(
    "pgbouncer", path="/usr/sbin:/usr/local/sbin"
)
# The first version that tracks protocol-level prepared statements in transaction mode.
PREPARED_STATEMENTS_SINCE = (1, 21)
# The test's own: where it listens and how clients authenticate.
_LOCAL_KEYS = {
    "listen_addr", "listen_port", "auth_type", "auth_file", "unix_socket_dir", "logfile",
    "pidfile", "max_prepared_statements",
}  # fmt: skip


@cache
def version() -> tuple[int, int] | None:
    if EXECUTABLE is None:
        return None
    output = subprocess.run(  # noqa: S603 - the installed pgbouncer, fixed argument
        [EXECUTABLE, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    match = re.search(r"PgBouncer (\d+)\.(\d+)", output)
    return (int(match.group(1)), int(match.group(2))) if match else None


def supports_prepared_statements() -> bool:
    found = version()
    return found is not None and found >= PREPARED_STATEMENTS_SINCE


def shipped_settings() -> dict[str, str]:
    parser = configparser.ConfigParser(comment_prefixes=(";", "#"), interpolation=None)
    parser.read(SHIPPED_CONFIG)
    return dict(parser["pgbouncer"])


class PgBouncer:
    def __init__(self, *, server_host: str, server_port: int, user: str, prepared: bool) -> None:
        if prepared and not supports_prepared_statements():
            raise ValueError(f"PgBouncer {version()} cannot keep prepared statements")
        self.server_host, self.server_port, self.user = server_host, server_port, user
        self.prepared = prepared
        self.port = free_port()
        # Its own folder, readable by the unprivileged user PgBouncer runs as under root.
        self.directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.directory.chmod(0o755)
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        users = self.directory / "users.txt"
        users.write_text(f'"{self.user}" ""\n')
        settings = {k: v for k, v in shipped_settings().items() if k not in _LOCAL_KEYS}
        settings.update(
            listen_addr="127.0.0.1",
            listen_port=str(self.port),
            auth_type="trust",
            auth_file=str(users),
            unix_socket_dir="",
        )
        if supports_prepared_statements():
            settings["max_prepared_statements"] = "200" if self.prepared else "0"
        lines = ["[databases]", f"* = host={self.server_host} port={self.server_port}", ""]
        lines += ["[pgbouncer]", *(f"{key} = {value}" for key, value in settings.items())]
        path = self.directory / "pgbouncer.ini"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> PgBouncer:
        assert EXECUTABLE is not None
        command = [EXECUTABLE]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            command += ["-u", "nobody"]
        command.append(str(self._config()))
        log = (self.directory / "pgbouncer.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - the installed pgbouncer, our config
            command, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.log()
                self.stop()
                raise AssertionError(f"PgBouncer did not start:\n{output}")
            time.sleep(0.05)  # polling interval while waiting on a deadline
        return self

    def _answers(self) -> bool:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user=self.user,
                dbname="postgres",
                connect_timeout=2,
            ) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False

    def show(self, what: str) -> list[dict[str, Any]]:
        """``SHOW <what>`` on PgBouncer's admin console (pools, stats, clients…)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="pgbouncer", autocommit=True
        ) as conn:
            cursor = conn.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def django_through(bouncer: PgBouncer) -> Iterator[None]:
    """Django's default alias goes through ``bouncer`` inside the block: the test's own
    connection and every thread's new one, with prepared statements as the bouncer allows
    and no server-side cursors (the settings DB_PREPARED_STATEMENTS / DB_SERVER_SIDE_CURSORS
    apply at start-up; the suite changes them in place for the block)."""
    connection = connections["default"]
    assert not connection.in_atomic_block, (
        "route a transactional test (django_db(transaction=True))"
    )
    db = connection.settings_dict  # the dict every new connection of the alias is built from
    saved = {key: db.get(key) for key in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS")}
    saved_options = dict(db.get("OPTIONS", {}))
    options = {
        k: v
        for k, v in saved_options.items()
        if k not in {"server_side_binding", "prepare_threshold"}
    }
    if bouncer.prepared:
        options.update(server_side_binding=True, prepare_threshold=5)
    connection.close()
    db.update(
        HOST="127.0.0.1", PORT=bouncer.port, DISABLE_SERVER_SIDE_CURSORS=True, OPTIONS=options
    )
    connection.features.__dict__.pop("uses_server_side_binding", None)  # cached per connection
    try:
        connection.ensure_connection()
        assert connection.connection.info.port == bouncer.port  # really through the bouncer
        yield
    finally:
        connection.close()
        db.update(saved, OPTIONS=saved_options)
        connection.features.__dict__.pop("uses_server_side_binding", None)
