"""`frontline sync ucdp` against the local UCDP emulator: a Candidate release, the yearly GED
release that supersedes it, paging, a 500, a refused token and the command line."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from app.ingest.feeds.errors import FeedError
from app.ingest.feeds.pages import SyncReport
from app.ingest.feeds.ucdp import UcdpClient
from app.ingest.feeds.ucdp_sync import sync_ucdp
from app.store.engine import make_engine
from tests.conftest import dump_tables, execute, settings_for
from tests.emulators import serving
from tests.emulators.ucdp import TOKEN, UcdpData, build, ged_row

PAGE = 2


@pytest.fixture
def ucdp() -> Iterator[tuple[str, UcdpData]]:
    """Candidate 26.0.5 holds events 1-5 (being checked); GED 26.1 revises 1, re-publishes
    2-4 as they were, drops 5 and adds 6."""
    candidate = [ged_row(n, code_status="Check dyad") for n in range(1, 6)]
    final = [ged_row(1, best=40), *[ged_row(n) for n in range(2, 5)], ged_row(6)]
    data = UcdpData(releases={"26.0.5": candidate, "26.1": final})
    with serving(build(data)) as base:
        yield base, data


def sync(url: str, base: str, version: str, token: str = TOKEN, **options: Any) -> SyncReport:
    async def run() -> SyncReport:
        engine = make_engine(url, settings_for(url))
        try:
            async with httpx2.AsyncClient(timeout=30) as http:
                client = UcdpClient(http, base, token, backoff_s=0.01)
                return await sync_ucdp(engine, client, version, page_size=PAGE, **options)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def held(url: str) -> dict[str, tuple[Any, ...]]:
    """UCDP id → (fatalities, deleted, tags, version) of the events Frontline holds."""
    rows = execute(url, "SELECT external_id, fatalities, deleted_at IS NOT NULL, tags, version "
                   "FROM events WHERE dataset = 'ucdp-ged'")  # fmt: skip
    return {r[0]: tuple(r[1:]) for r in rows or []}


def test_a_final_release_supersedes_the_candidate_vintage(
    fresh_url: str, ucdp: tuple[str, UcdpData]
) -> None:
    base, _ = ucdp
    first = sync(fresh_url, base, "26.0.5")
    assert (first.counts["pages"], first.counts["inserted"]) == (3, 5)
    candidate = ["code_status:Check dyad", "ucdp-country:369", "ucdp-candidate"]
    clear = ["code_status:Clear", "ucdp-country:369"]
    assert held(fresh_url)["500001"] == (1, False, candidate, 1)
    final = sync(fresh_url, base, "26.1")
    assert (final.counts["inserted"], final.counts["updated"], final.counts["deleted"]) == (1, 4, 1)
    now = held(fresh_url)
    assert now["500001"] == (40, False, clear, 2)  # revised by the final
    assert now["500002"] == (2, False, clear, 2)  # re-published: no candidate
    assert now["500005"][1:] == (True, candidate, 2)  # not carried again: superseded
    assert now["500006"] == (6, False, clear, 1)
    notes = ("SELECT r.note FROM event_revisions r JOIN events e ON e.id = r.event_id "
             "WHERE e.external_id = '500005' AND r.version = 2")  # fmt: skip
    [(note,)] = execute(fresh_url, notes) or []
    assert note == "superseded by UCDP GED 26.1, which does not carry it"
    [(releases,)] = execute(fresh_url, "SELECT releases FROM feeds WHERE name = 'ucdp'") or []
    assert releases == ["26.0.5", "26.1"]
    again = sync(fresh_url, base, "26.1")  # the same release again changes nothing
    assert (again.counts["unchanged"], again.counts["deleted"]) == (5, 0)


def test_a_release_for_some_countries_supersedes_only_theirs(
    fresh_url: str, ucdp: tuple[str, UcdpData]
) -> None:
    base, data = ucdp
    data.releases["26.0.5"][4]["country_id"] = 365  # event 5 is in Russia
    sync(fresh_url, base, "26.0.5")
    final = sync(fresh_url, base, "26.1", filters={"Country": "369"})
    assert final.counts["deleted"] == 0
    assert held(fresh_url)["500005"][1] is False  # not Ukraine's to supersede


def test_a_500_is_retried(fresh_url: str, ucdp: tuple[str, UcdpData]) -> None:
    base, data = ucdp
    data.faults = [500]
    assert sync(fresh_url, base, "26.1").counts["inserted"] == 5
    assert data.log[:2] == ["26.1 page 0", "26.1 page 0"]


def test_a_refused_token_writes_nothing(fresh_url: str, ucdp: tuple[str, UcdpData]) -> None:
    base, _ = ucdp
    before = dump_tables(fresh_url)
    with pytest.raises(FeedError, match=r"UCDP refused the access token \(401\)"):
        sync(fresh_url, base, "26.1", token="stolen")
    assert dump_tables(fresh_url) == before


def test_the_command_merges_releases_in_order(fresh_url: str, ucdp: tuple[str, UcdpData]) -> None:
    base, _ = ucdp
    env = {**os.environ, "DATABASE_URL": fresh_url, "FRONTLINE_UCDP_URL": base,
           "FRONTLINE_UCDP_TOKEN": TOKEN, "FRONTLINE_FEED_PAGE_SIZE": "2"}  # fmt: skip
    command = [sys.executable, "-m", "app.cli", "sync", "ucdp", "--version", "26.0.5",
               "--version", "26.1"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "ucdp 26.0.5 merged: 5 rows in 3 pages (5 new" in done.stdout
    assert "ucdp 26.1 merged: 5 rows in 3 pages (1 new, 4 edited" in done.stdout
    bad = subprocess.run([*command[:-4], "--version", "latest"], env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert bad.returncode == 2 and "expected a release like 25.1 or 26.0.8" in bad.stderr
