"""Read replicas (FRONTLINE_READ_DATABASE_URLS) on a real primary and streaming standby: reads
go to the standby while it keeps up, a write's Frontline-Consistency token makes the next read
see it, and a standby that falls behind, goes down or is no standby at all is skipped, with
/ready and /metrics saying so. Replay is paused (pg_wal_replay_pause) to make a standby stale
on purpose: what a read then answers shows which database served it."""

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from app.store import devdb, migrate
from app.store.engine import asyncpg_url
from app.store.replicas import parse_lsn
from tests.api.test_change_feed import SLOW_EDIT, poll
from tests.api.test_imports import ACLED, acled_csv
from tests.api.test_writes import _prepare
from tests.conftest import client_for, free_port

EVENT = {"title": "Shelling reported in Sudzha", "event_type": "shelling", "place": "sudzha",
         "occurred_at": "2025-03-10T00:00:00Z", "time_precision": "day"}  # fmt: skip
TOKEN = "Frontline-Consistency"


@dataclass
class Pair:
    primary: devdb.Cluster
    standby: devdb.Cluster
    url: str  # the primary's database
    replica_url: str  # the same database on the standby
    keys: dict[str, str]

    def replay(self, on: bool) -> None:
        call = "pg_wal_replay_resume()" if on else "pg_wal_replay_pause()"
        devdb.run_sql(self.standby, f"SELECT {call}")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    base = Path(tempfile.mkdtemp(prefix="frontline-replicas-"))
    try:
        primary = devdb.start(base / "primary", free_port(), ephemeral=True)
        url = primary.url()
        migrate.upgrade(url)
        keys = asyncio.run(_prepare(url))
        standby = devdb.start_standby(primary, base / "standby", free_port())
        yield Pair(primary, standby, url, standby.url(), keys)
    finally:
        for side in ("standby", "primary"):
            devdb.stop(base / side)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def replaying(pair: Pair) -> Iterator[None]:
    """Each test starts and ends with the standby running and replaying."""
    devdb.start(pair.standby.base_dir, pair.standby.port)
    pair.replay(True)
    yield
    devdb.start(pair.standby.base_dir, pair.standby.port)
    pair.replay(True)


def replica_client(pair: Pair, **settings: object) -> Any:
    """A client of an app reading from the standby, checked every 0.2 s unless told."""
    settings = {"read_database_urls": [pair.replica_url],
                "replica_check_s": 0.2, **settings}  # fmt: skip
    return client_for(pair.url, **settings)


def replica_state(client: TestClient) -> dict[str, Any]:
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    databases: list[dict[str, Any]] = ready.json()["databases"]
    assert [d["role"] for d in databases] == ["primary", "replica"]
    return databases[1]


def wait_until(client: TestClient, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while not done(state := replica_state(client)):
        assert time.monotonic() < deadline, f"the replica stayed {state}"
        time.sleep(0.05)
    return state


def create(client: TestClient, pair: Pair, external_id: str) -> tuple[int, str]:
    """A new event in dataset `replicated`: its id and the write's token."""
    answer = client.post("/events", json={**EVENT, "dataset": "replicated",
                                          "external_id": external_id},
                         headers={"Authorization": f"Bearer {pair.keys['writer']}"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"]), answer.headers[TOKEN]


def listed(client: TestClient, token: str | None = None) -> list[str]:
    """The external ids /events lists in dataset `replicated`, read with ``token`` if any."""
    headers = {TOKEN: token} if token else {}
    answer = client.get("/events?dataset=replicated&limit=100", headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(f["properties"]["external_id"] for f in answer.json()["features"])


def caught_up(token: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: (
        s["state"] == "healthy" and parse_lsn(s["replayed"] or "0/0") >= parse_lsn(token)
    )


def test_reads_go_to_the_replica_and_a_token_reads_your_write(pair: Pair) -> None:
    with replica_client(pair, max_replica_lag_s=300) as client:
        wait_until(client, lambda s: s["state"] == "healthy")
        before = listed(client)
        pair.replay(False)
        first, token = create(client, pair, "rw-one")
        # The paused standby serves reads without a token: it does not have the event yet.
        assert listed(client) == before
        assert client.get(f"/events/{first}").status_code == 404
        export = client.get("/events/export?f=csv&dataset=replicated")
        assert export.status_code == 200
        assert "rw-one" not in export.text
        # With the token, the primary serves them: the writer sees what it wrote.
        assert listed(client, token) == sorted([*before, "rw-one"])
        assert client.get(f"/events/{first}", headers={TOKEN: token}).status_code == 200
        export = client.get("/events/export?f=csv&dataset=replicated", headers={TOKEN: token})
        assert "rw-one" in export.text
        pair.replay(True)
        wait_until(client, caught_up(token))
        pair.replay(False)
        _, second = create(client, pair, "rw-two")
        # The standby has replayed the first write, not the second: the first token reads
        # there (only the first is listed), the second on the primary (both are).
        assert listed(client, token) == sorted([*before, "rw-one"])
        assert listed(client, second) == sorted([*before, "rw-one", "rw-two"])
        pair.replay(True)
        wait_until(client, caught_up(second))
        assert listed(client) == sorted([*before, "rw-one", "rw-two"])


def test_every_write_answers_with_a_token(pair: Pair) -> None:
    writer = {"Authorization": f"Bearer {pair.keys['writer']}"}
    with replica_client(pair) as client:
        event_id, created = create(client, pair, "tokens")
        patched = client.patch(
            f"/events/{event_id}",
            json={"title": "Shelling in Sudzha"},
            headers={**writer, "Content-Type": "application/merge-patch+json"},
        )
        deleted = client.delete(f"/events/{event_id}", headers=writer)
        imported = client.post("/imports?dataset=replicated-import", content=acled_csv(ACLED),
                               headers={**writer, "Content-Type": "text/csv"})  # fmt: skip
        assert imported.status_code == 200, imported.text
        # Read with the import's token, the five rows are there (the primary or a replica
        # that has replayed them answers).
        rows = client.get("/events?dataset=replicated-import",
                          headers={TOKEN: imported.headers[TOKEN]}).json()["features"]  # fmt: skip
    assert len(rows) == len(ACLED)
    tokens = [created] + [a.headers[TOKEN] for a in (patched, deleted, imported)]
    assert [patched.status_code, deleted.status_code] == [200, 204]
    assert [parse_lsn(t) for t in tokens] == sorted(parse_lsn(t) for t in tokens)
    assert len(set(tokens)) == 4


def test_a_token_that_is_not_one_is_a_400_naming_the_header(pair: Pair) -> None:
    with replica_client(pair) as client:
        for bad in ("yesterday", "1/", "-1/2", "0/123456789", "1/2/3"):
            answer = client.get("/events?limit=1", headers={TOKEN: bad})
            assert answer.status_code == 400, bad
            assert answer.headers["content-type"] == "application/problem+json"
            assert TOKEN in answer.json()["detail"], answer.json()


def test_a_lagging_replica_gets_no_reads_until_it_catches_up(pair: Pair) -> None:
    with replica_client(pair, max_replica_lag_s=1) as client:
        wait_until(client, lambda s: s["state"] == "healthy")
        pair.replay(False)
        create(client, pair, "while-lagging")
        lagging = wait_until(client, lambda s: s["state"] == "lagging")
        assert lagging["lag_s"] >= 1  # past 1 s, as /ready rounds it (to the millisecond)
        assert "while-lagging" in listed(client)  # the primary answered, without a token
        metrics = client.get("/metrics").text
        serving = f'frontline_db_replica_serving{{replica="{lagging["name"]}",state="lagging"}}'
        assert f"{serving} 0.0" in metrics
        assert "frontline_db_replica_lag_seconds{replica=" in metrics
        pair.replay(True)
        assert wait_until(client, lambda s: s["state"] == "healthy")["lag_s"] == 0


def test_a_replica_that_goes_down_is_skipped_at_once_and_used_again_when_back(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    # Checked once at the start, then not for a minute: the failed read itself marks it down.
    with replica_client(pair, replica_check_s=60) as client:
        wait_until(client, lambda s: s["state"] == "healthy")
        expected = listed(client)
        devdb.stop(pair.standby.base_dir)
        with caplog.at_level(logging.WARNING, logger="app.store.replicas"):
            assert listed(client) == expected  # served by the primary
        assert replica_state(client)["state"] == "down"
        assert any("is down" in r.getMessage() for r in caplog.records)
        assert listed(client) == expected
    devdb.start(pair.standby.base_dir, pair.standby.port)
    with replica_client(pair) as client:
        wait_until(client, lambda s: s["state"] == "healthy")


def test_a_url_that_is_no_standby_is_refused_reads_and_logged(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="app.store.replicas"),
        client_for(pair.url, read_database_urls=[pair.url]) as client,
    ):
        state = wait_until(client, lambda s: s["state"] != "unknown")
        create(client, pair, "no-standby")
        assert "no-standby" in listed(client)
    assert state["state"] == "not-a-standby"
    assert any("which is not a standby" in r.getMessage() for r in caplog.records)


def past_every_change(client: TestClient, pair: Pair) -> int:
    """A change-feed token, polled on the replica, above every change made so far. Until the
    standby has replayed a change's commit (the suite's primary commits asynchronously, so
    even waiting for its current WAL position does not ensure that) a poll's bound stays at
    or below it; the change then rightly comes in a later poll, and in the race below it
    would pass for the fast edit (the earlier test's write: `during == [21]` in CI)."""

    async def newest() -> int:
        conn = await asyncpg.connect(asyncpg_url(pair.url).replace("+asyncpg", ""))
        try:
            return int(await conn.fetchval("SELECT max(change_xid)::text FROM events"))
        finally:
            await conn.close()

    made = asyncio.run(newest())
    deadline = time.monotonic() + 20
    while (token := poll(client, 0)[1]) <= made:
        assert time.monotonic() < deadline, f"the replica's feed stayed at {token} <= {made}"
        time.sleep(0.05)
    return token


def test_the_change_feed_on_a_replica_never_skips_a_long_transaction(pair: Pair) -> None:
    with replica_client(pair, max_replica_lag_s=300) as client:
        slow_id, fast_id = sorted(f["id"] for f in client.get("/events?limit=2").json()["features"])
        token = past_every_change(client, pair)
        writer = {"Authorization": f"Bearer {pair.keys['writer']}",
                  "Content-Type": "application/merge-patch+json"}  # fmt: skip

        async def race() -> tuple[list[int], list[int]]:
            slow = await asyncpg.connect(asyncpg_url(pair.url).replace("+asyncpg", ""))
            try:
                transaction = slow.transaction()
                await transaction.start()
                await slow.execute(SLOW_EDIT, slow_id)
                edit = {"title": "Fast edit"}
                path = f"/events/{fast_id}"
                fast = await asyncio.to_thread(client.patch, path, json=edit, headers=writer)
                # The replica has the fast commit, and still no poll there returns it.
                await asyncio.to_thread(wait_until, client, caught_up(fast.headers[TOKEN]))
                during, _ = await asyncio.to_thread(poll, client, token)
                await transaction.commit()
            finally:
                await slow.close()
            deadline = time.monotonic() + 20
            while not (after := (await asyncio.to_thread(poll, client, token))[0]):
                assert time.monotonic() < deadline, "the replica never showed the changes"
            return during, after

        during, after = asyncio.run(race())
    assert during == []
    assert sorted(after) == sorted([slow_id, fast_id])  # both at once, the slow one included
