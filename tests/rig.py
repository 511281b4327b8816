"""Real programs for the multi-process tests, all on loopback: PgBouncer in front of a cluster,
a streaming standby beside it. Each is a context manager that tears its program down."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.store import devdb
from tests.conftest import free_port

PGBOUNCER = "/usr/sbin/pgbouncer"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PgBouncer did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)


@contextmanager
def pgbouncer(upstream: devdb.Cluster, pool_mode: str = "transaction", pool_size: int = 2
              ) -> Iterator[int]:  # fmt: skip
    """PgBouncer (Debian's) in ``pool_mode`` in front of ``upstream``, with ``pool_size``
    server connections per database, so that clients share them; yields its port."""
    home = Path(tempfile.mkdtemp(prefix="frontline-pgbouncer-"))
    port = free_port()
    log = home / "pgbouncer.log"
    (home / "userlist.txt").write_text(f'"{upstream.user}" "{upstream.password}"\n')
    (home / "pgbouncer.ini").write_text(
        f"""[databases]
* = host=127.0.0.1 port={upstream.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {home}/userlist.txt
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {log}
pidfile = {home}/pgbouncer.pid
"""
    )
    log.touch()
    devdb.give_to_server_user(home, *home.iterdir())  # PgBouncer refuses to run as root too
    command = [PGBOUNCER, str(home / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command = ["runuser", "-u", devdb.SERVER_USER, "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def via(url: str, port: int) -> str:
    """``url`` with its loopback port replaced by ``port`` (a pooler's)."""
    prefix, _, rest = url.rpartition("@127.0.0.1:")
    return f"{prefix}@127.0.0.1:{port}/{rest.split('/', 1)[1]}"
