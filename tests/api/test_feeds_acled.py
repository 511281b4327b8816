"""`frontline sync acled` against the local ACLED emulator: first and incremental runs, edits,
deletions, expired tokens, 429/500, refused credentials, a dry run, and a run killed midway."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from app.ingest.feeds.acled import AcledClient
from app.ingest.feeds.acled_sync import sync_acled
from app.ingest.feeds.errors import FeedError
from app.ingest.feeds.pages import SyncReport
from app.store.engine import make_engine
from tests.conftest import client_for, dump_tables, execute, settings_for
from tests.emulators import serving
from tests.emulators.acled import PASSWORD, USERNAME, AcledData, acled_row, build

T0 = 1_750_000_000  # upstream times of the first rows (June 2025)
PAGE = 5


@pytest.fixture
def acled() -> Iterator[tuple[str, AcledData]]:
    """The emulator on a loopback port, with 12 rows (three pages of five)."""
    data = AcledData(rows=[acled_row(n, T0 + n) for n in range(1, 13)])
    with serving(build(data)) as base:
        yield base, data


def sync(url: str, base: str, password: str = PASSWORD, **options: Any) -> SyncReport:
    async def run() -> SyncReport:
        engine = make_engine(url, settings_for(url))
        try:
            async with httpx2.AsyncClient(timeout=30) as http:
                client = AcledClient(http, base, USERNAME, password, backoff_s=0.01)
                return await sync_acled(engine, client, page_size=PAGE, **options)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def stored(url: str) -> dict[str, tuple[Any, ...]]:
    """The ACLED events Frontline holds: external id → (fatalities, day, deleted, version)."""
    rows = execute(url, "SELECT external_id, fatalities, occurred_at::date::text, deleted_at "
                   "IS NOT NULL, version FROM events WHERE dataset = 'acled'")  # fmt: skip
    return {r[0]: tuple(r[1:]) for r in rows or []}


def upstream(data: AcledData) -> dict[str, tuple[int, str]]:
    return {r["event_id_cnty"]: (int(r["fatalities"]), r["event_date"]) for r in data.rows}


def assert_same_as_upstream(url: str, data: AcledData) -> dict[str, tuple[Any, ...]]:
    """Every live upstream row is a live event with its values; every deletion a tombstone."""
    held = stored(url)
    live = {k: (v[0], v[1]) for k, v in held.items() if not v[2]}
    assert live == upstream(data)
    assert {k for k, v in held.items() if v[2]} == {d["event_id_cnty"] for d in data.deleted}
    return held


def revisions(url: str) -> list[tuple[Any, ...]]:
    return execute(url, "SELECT e.external_id, r.version, r.operation, r.changed_by, r.note "
                   "FROM event_revisions r JOIN events e ON e.id = r.event_id "
                   "WHERE e.dataset = 'acled' ORDER BY 1, 2") or []  # fmt: skip


def test_first_sync_merges_every_page(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    base, data = acled
    report = sync(fresh_url, base)
    assert report.counts | {"rejected": 0} == {"pages": 3, "rows": 12, "inserted": 12,
        "updated": 0, "unchanged": 0, "rejected": 0, "deleted": 0}  # fmt: skip
    assert_same_as_upstream(fresh_url, data)
    assert (report.mark, report.deleted_mark) == (T0 + 12, None)
    assert [line for line in data.log if "page" in line] == [
        "events page 1", "events page 2", "events page 3", "deleted page 1"]  # fmt: skip
    with client_for(fresh_url) as client:
        [feed] = client.get("/feeds").json()["feeds"]
    assert (feed["name"], feed["mark"], feed["interrupted"], feed["last_error"]) == (
        "acled", T0 + 12, False, None)  # fmt: skip
    assert feed["counts"]["inserted"] == 12


def test_incremental_sync_follows_edits_and_deletions(
    fresh_url: str, acled: tuple[str, AcledData]
) -> None:
    base, data = acled
    sync(fresh_url, base)
    data.edit("UKR00003", T0 + 100, fatalities="9")
    data.delete("UKR00004", T0 + 101)
    data.rows.append(acled_row(13, T0 + 102))
    data.log.clear()
    report = sync(fresh_url, base)
    # Asked only what changed since the mark: the row at the mark itself, the edit, the new one.
    assert (report.counts["rows"], report.counts["inserted"], report.counts["updated"],
            report.counts["deleted"]) == (3, 1, 1, 1)  # fmt: skip
    held = assert_same_as_upstream(fresh_url, data)
    assert held["UKR00003"] == (9, "2025-03-04", False, 2)
    assert ("UKR00004", 2, "delete", "feed:acled", "deleted upstream by ACLED") in revisions(
        fresh_url
    )
    assert ("UKR00003", 2, "update", "feed:acled", None) in revisions(fresh_url)
    assert len(revisions(fresh_url)) == 13 + 2  # one per new event, the edit, the deletion
    [(deleted_id,)] = execute(fresh_url, "SELECT id FROM events WHERE external_id = 'UKR00004'")
    with client_for(fresh_url) as client:
        feed = {"updated_since": "2000-01-01T00:00:00Z", "include_deleted": "true"}
        gone = client.get("/events", params={**feed, "limit": 100}).json()
        last = client.get(f"/events/{deleted_id}/history").json()["revisions"][-1]
    tombstones = [f["id"] for f in gone["features"] if f["properties"].get("deleted_at")]
    assert tombstones == [deleted_id]
    assert (last["operation"], last["note"]) == ("delete", "deleted upstream by ACLED")
    assert sync(fresh_url, base).counts["deleted"] == 0  # a deletion is applied once


def test_each_filter_set_keeps_its_own_mark(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    """A run for Russia after one for Ukraine starts from Russia's own mark, not Ukraine's
    (Russia's rows are older than Ukraine's newest: a shared mark would skip them)."""
    base, data = acled
    for row in data.rows[:4]:
        row["country"] = "Russia"
    assert sync(fresh_url, base, filters={"country": "Ukraine"}).counts["inserted"] == 8
    assert sync(fresh_url, base, filters={"country": "Russia"}).counts["inserted"] == 4
    assert execute(fresh_url, "SELECT name, mark FROM feeds ORDER BY name") == [
        ("acled country=Russia", T0 + 4),
        ("acled country=Ukraine", T0 + 12),
    ]


def test_an_expired_token_is_renewed(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    base, data = acled
    data.reads_per_token = 2
    sync(fresh_url, base)
    assert_same_as_upstream(fresh_url, data)
    assert "token refresh_token" in data.log


def test_429_and_500_are_retried(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    base, data = acled
    data.faults = [429, 500]
    sync(fresh_url, base)
    assert_same_as_upstream(fresh_url, data)
    assert data.log[1:4] == ["events page 1", "events page 1", "events page 1"]


def test_refused_credentials_write_nothing(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    base, _ = acled
    before = dump_tables(fresh_url)
    with pytest.raises(FeedError, match=r"ACLED refused the username or password \(400"):
        sync(fresh_url, base, password="wrong")
    assert dump_tables(fresh_url) == before
    [(error,)] = execute(fresh_url, "SELECT last_error FROM feeds WHERE name = 'acled'") or []
    assert "refused the username or password" in error and "wrong" not in error


def test_a_dry_run_counts_and_writes_nothing(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    base, _ = acled
    before = dump_tables(fresh_url)
    report = sync(fresh_url, base, dry_run=True)
    assert (report.counts["inserted"], report.counts["pages"]) == (12, 3)
    assert dump_tables(fresh_url) == before


def _cli(url: str, base: str, password: str = PASSWORD) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url, "FRONTLINE_ACLED_URL": base,
           "FRONTLINE_ACLED_USERNAME": USERNAME, "FRONTLINE_ACLED_PASSWORD": password,
           "FRONTLINE_FEED_PAGE_SIZE": str(PAGE)}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "app.cli", "sync", "acled"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_a_killed_sync_resumes_without_gap_or_duplicate(
    fresh_url: str, acled: tuple[str, AcledData]
) -> None:
    base, data = acled
    data.slow_page = (2, 60.0)
    process = _cli(fresh_url, base)
    deadline = time.monotonic() + 60
    while "events page 2" not in data.log and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # mid-page: nothing of page 2 is committed
    process.communicate(timeout=10)
    assert set(stored(fresh_url)) == {f"UKR{n:05d}" for n in range(1, 6)}  # page 1 committed
    [(run,)] = execute(fresh_url, "SELECT run FROM feeds WHERE name = 'acled'") or []
    assert (run["phase"], run["page"]) == ("events", 2)
    data.slow_page = None
    report = sync(fresh_url, base)
    assert report.resumed and report.counts["inserted"] == 7
    assert_same_as_upstream(fresh_url, data)
    assert [(r[0], r[1]) for r in revisions(fresh_url)] == [
        (f"UKR{n:05d}", 1) for n in range(1, 13)]  # fmt: skip


def test_the_command_names_what_is_wrong(fresh_url: str, acled: tuple[str, AcledData]) -> None:
    base, _ = acled
    out, err = _cli(fresh_url, base, password="hunter2").communicate(timeout=60)
    assert "frontline sync acled: ACLED refused the username or password" in err
    assert "hunter2" not in out + err
    done = _cli(fresh_url, base)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert "acled merged: 12 rows in 3 pages (12 new" in out
