"""What the benchmarks measure besides the load: the CPU each side spent (Linux /proc), the app
under gunicorn, and the database's own ceiling for checkout's minimum work (pgbench)."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # exited, or no /proc
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def _database_backends(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU seconds spent by the app (gunicorn), its database backends and this load generator
    over one scenario. Throughput on a shared VM moves from run to run; the CPU that one
    checkout costs moves much less."""

    def __init__(self, server_pid: int, database_url: str) -> None:
        self.server_pid, self.database_url = server_pid, database_url

    def _sample(self) -> tuple[dict[int, float], dict[int, float], float]:
        app = [self.server_pid, *_children(self.server_pid)]
        backends = _database_backends(self.database_url)
        return (
            {pid: _process_cpu_seconds(pid) for pid in app},
            {pid: _process_cpu_seconds(pid) for pid in backends},
            time.process_time(),
        )

    def __enter__(self) -> CpuMeter:
        self._before = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        after = self._sample()
        self.seconds = {
            # A process that started during the run counts whole (it had 0 before).
            name: sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())
            for name, before, now in (
                ("app", self._before[0], after[0]),
                ("database", self._before[1], after[1]),
            )
        }
        self.seconds["load generator"] = after[2] - self._before[2]


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, worker_class: str, log: Path
) -> subprocess.Popen[bytes]:
    """gunicorn serving ``config.wsgi`` with ``env``'s settings module; returns once it answers."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    # The app's own log (a warning per refused checkout) goes to a file, not between the figures.
    log_file = log.open("w")
    proc = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()  # the child has its own copy
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)  # waiting for a server to start: nothing to poll but the port
    proc.kill()
    raise SystemExit(f"gunicorn did not start within 30 s; see {log}")


# --- database ceiling -------------------------------------------------------------------------

CEILING_SETUP = """
DROP TABLE IF EXISTS ceiling_lock, ceiling_order, ceiling_product;
CREATE TABLE ceiling_product (id int PRIMARY KEY, stock int NOT NULL CHECK (stock >= 0));
CREATE TABLE ceiling_lock (id bigserial PRIMARY KEY, product_id int NOT NULL, quantity int NOT NULL,
                           owner text NOT NULL, expires_at timestamptz);
CREATE TABLE ceiling_order (id bigserial PRIMARY KEY, number text UNIQUE NOT NULL,
                            customer_id int NOT NULL, total numeric(12,2) NOT NULL,
                            created_at timestamptz NOT NULL);
INSERT INTO ceiling_product SELECT g, 1000000 FROM generate_series(1, 10000) g;
"""

CEILING_SCRIPT = """\\set pid {pid}
BEGIN;
SELECT stock FROM ceiling_product WHERE id = :pid FOR UPDATE;
INSERT INTO ceiling_order (number, customer_id, total, created_at)
  VALUES (md5(random()::text || clock_timestamp()::text), :client_id, 1500, now());
INSERT INTO ceiling_lock (product_id, quantity, owner, expires_at)
  VALUES (:pid, 1, currval('ceiling_order_id_seq')::text, now() + interval '30 minutes');
COMMIT;
"""


def database_ceiling(url: str, concurrency: int, seconds: int, hot: bool) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CEILING_SETUP)
    parts = urlsplit(url)
    script = CEILING_SCRIPT.format(pid="1" if hot else "random(1, 10000)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    env = dict(os.environ, PGPASSWORD=parts.password or "")
    try:
        out = subprocess.run(
            [
                "pgbench",
                "-n",
                "-h",
                parts.hostname or "127.0.0.1",
                "-p",
                str(parts.port or 5432),
                "-U",
                parts.username or "postgres",
                "-c",
                str(concurrency),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-f",
                handle.name,
                parts.path.lstrip("/"),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    for line in out.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    raise SystemExit(f"pgbench printed no tps:\n{out}")
