"""Failover without a restart: an API process whose DATABASE_URL names the primary and its
standby (libpq's several hosts, `target_session_attrs=read-write`) keeps taking writes after
the primary dies and the standby is promoted (`pg_ctl promote`, as Patroni or an operator
would). Requests during the switch are 503 with Retry-After, never a 500; with synchronous
replication no write it acknowledged is lost; an import cut off by the crash wrote all of its
rows or none."""

import asyncio
import json
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.store import devdb, migrate
from tests.api.test_imports import ACLED, acled_csv
from tests.api.test_writes import _prepare
from tests.conftest import free_port, live_server

EVENT = {"title": "Strike near Belgorod", "event_type": "airstrike", "place": "belgorod",
         "occurred_at": "2025-03-10T00:00:00Z", "time_precision": "day"}  # fmt: skip
IMPORT_ROWS = 20_000


@dataclass
class Answer:
    status: int
    retry_after: str | None
    at: float = field(default_factory=time.monotonic)


def _send(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    method = "POST" if body is not None else "GET"
    request = urllib.request.Request(url, body, headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (loopback)
            answer.read()
            return Answer(int(answer.status), None)
    except urllib.error.HTTPError as error:
        error.read()
        return Answer(int(error.code), error.headers.get("Retry-After"))


@pytest.fixture
def pair() -> Iterator[tuple[devdb.Cluster, devdb.Cluster, dict[str, str]]]:
    base = Path(tempfile.mkdtemp(prefix="frontline-failover-"))
    try:
        # Durable (not the suite's ephemeral settings) and synchronously replicated: a commit
        # is acknowledged once the standby has it, so a promotion cannot lose it.
        primary = devdb.start(base / "primary", free_port())
        migrate.upgrade(primary.url())
        keys = asyncio.run(_prepare(primary.url()))
        standby = devdb.start_standby(primary, base / "standby", free_port())
        devdb.run_sql(primary, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        devdb.run_sql(primary, "SELECT pg_reload_conf()")
        yield primary, standby, keys
    finally:
        for side in ("standby", "primary"):
            devdb.stop(base / side, mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


def _import_body() -> bytes:
    rows = [[f"UKR9{n:05d}", *ACLED[n % len(ACLED)][1:]] for n in range(IMPORT_ROWS)]
    return acled_csv(rows).encode()


def test_writes_resume_on_the_promoted_standby_and_nothing_acknowledged_is_lost(
    pair: tuple[devdb.Cluster, devdb.Cluster, dict[str, str]],
) -> None:
    primary, standby, keys = pair
    hosts = f"127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
    url = (f"postgresql://{primary.user}:{primary.password}@{hosts}/{primary.database}"
           "?target_session_attrs=read-write")  # fmt: skip
    auth = {"Authorization": f"Bearer {keys['writer']}", "Content-Type": "application/json"}
    writes: dict[str, Answer] = {}
    reads: list[Answer] = []
    imported: list[Answer] = []
    stop = threading.Event()
    settings = {
        "FRONTLINE_WRITES_PER_MINUTE_PER_KEY": "0",
        "FRONTLINE_WRITES_PER_MINUTE_PER_IP": "0",
    }

    with live_server(url, settings=settings) as base:

        def writer(n: int) -> None:
            count = 0
            while not stop.is_set():
                external_id = f"w{n}-{count}"
                body = json.dumps({**EVENT, "dataset": "failover", "external_id": external_id})
                writes[external_id] = _send(f"{base}/events", body.encode(), auth)
                count += 1

        def reader() -> None:
            while not stop.is_set():
                reads.append(_send(f"{base}/events?limit=5"))

        def importer() -> None:
            headers = {**auth, "Content-Type": "text/csv"}
            url = f"{base}/imports?dataset=failover-import"
            imported.append(_send(url, _import_body(), headers))

        workers = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        workers += [threading.Thread(target=reader), threading.Thread(target=importer)]
        for worker in workers:
            worker.start()
        time.sleep(1.5)
        devdb.stop(primary.base_dir, mode="immediate")  # the primary's host dies
        time.sleep(1.0)
        devdb.promote(standby.base_dir)
        promoted = time.monotonic()
        time.sleep(4.0)
        stop.set()
        for worker in workers:
            worker.join(timeout=60)

    answers = [*writes.values(), *reads, *imported]
    assert {a.status for a in answers} <= {200, 201, 503}, sorted({a.status for a in answers})
    assert all(a.retry_after for a in answers if a.status == 503)
    refused = [a for a in writes.values() if a.status == 503]
    assert refused, "no write was in flight while the primary was down"
    resumed = min(a.at for a in writes.values() if a.status == 201 and a.at > promoted)
    assert resumed - promoted < 3.0  # seconds from the promotion to the first accepted write
    query = "SELECT external_id FROM events WHERE dataset = 'failover'"
    stored = set(devdb.run_sql(standby, query, primary.database).split())
    acknowledged = {external_id for external_id, a in writes.items() if a.status == 201}
    assert acknowledged <= stored
    rows = int(devdb.run_sql(standby, "SELECT count(*) FROM events WHERE dataset = "
                             "'failover-import'", primary.database))  # fmt: skip
    assert rows == (IMPORT_ROWS if imported[0].status == 200 else 0), imported
