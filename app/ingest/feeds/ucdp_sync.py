"""`frontline sync ucdp --version V`: merge a UCDP GED release into the dataset `ucdp-ged`.

A release is read page by page (from 0, until the page without a ``NextPageUrl``); each page is
merged in one transaction with the run's progress, keyed by UCDP's event ``id``: an event a
later release revises becomes a new version with a revision, an unchanged one writes nothing.
Rows keep UCDP's ``code_status`` as a tag; a monthly Candidate release's rows are tagged
``ucdp-candidate``. When a yearly GED release has been merged in full it supersedes the
Candidate vintage for its period: a Candidate event it did not carry again (merging a
re-published one rewrites it, so it is newer than the run) is deleted, its revision saying so.
A killed run resumes at the page after its last committed one.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.vocab import Operation
from app.ingest.event_rows import CANDIDATE_TAG, VINTAGE, country_tag
from app.ingest.event_staging import ImportReport
from app.ingest.feeds import state
from app.ingest.feeds.errors import FeedError
from app.ingest.feeds.pages import SyncReport, commit_page
from app.ingest.feeds.ucdp import MAX_PAGE_SIZE, UcdpClient, is_candidate
from app.store.revisions import record_revisions

FEED = "ucdp"
DATASET = "ucdp-ged"
WHO = "feed:ucdp"
_NOW = text("SELECT now()")
_SUPERSEDE = text(
    """
    UPDATE events SET deleted_at = now(), version = version + 1, updated_at = now()
    WHERE dataset = :dataset AND deleted_at IS NULL AND CAST(:candidate AS text) = ANY(tags)
      AND occurred_at >= :first AND occurred_at < :last AND updated_at < :started
      AND (CAST(:countries AS text[]) IS NULL OR tags && CAST(:countries AS text[]))
    RETURNING id
    """
)
_RELEASED = text(
    "UPDATE feeds SET releases = releases || to_jsonb(CAST(:version AS text)) "
    "WHERE name = :name AND NOT releases @> jsonb_build_array(CAST(:version AS text))"
)


async def sync_ucdp(
    engine: AsyncEngine,
    client: UcdpClient,
    version: str,
    *,
    filters: Mapping[str, str] | None = None,
    page_size: int = MAX_PAGE_SIZE,
    dry_run: bool = False,
    progress: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Merge one release (see the module docstring); FeedError when it cannot go on."""
    report = SyncReport(dry_run)
    async with state.exclusive(engine, FEED, "UCDP"):
        async with engine.begin() as conn:
            feed = await state.load(conn, FEED)
            started = (await conn.execute(_NOW)).scalar_one()
        if feed.run is not None and feed.run["version"] != version:
            raise FeedError(f"An interrupted sync of UCDP {feed.run['version']} must finish "
                            f"first: run `frontline sync ucdp --version "
                            f"{feed.run['version']}`.")  # fmt: skip
        report.resumed = feed.run is not None
        asked = (filters or {}).get("Country")
        countries = asked.split(",") if asked else None
        feed.run = feed.run or {"version": version, "page": 0, "started": started.isoformat(),
                                "first": None, "last": None, "countries": countries}  # fmt: skip
        await _pages(engine, client, feed, report, dict(filters or {}), page_size, progress)
        if not dry_run:
            async with engine.begin() as conn:
                report.counts["deleted"] += await _supersede(conn, feed.run)
                feed.counts["deleted"] += report.counts["deleted"]
                await conn.execute(_RELEASED, {"name": FEED, "version": version})
                feed.run = None
                await state.finish(conn, feed)
    return report


async def _pages(
    engine: AsyncEngine,
    client: UcdpClient,
    feed: state.FeedState,
    report: SyncReport,
    filters: dict[str, str],
    page_size: int,
    progress: Callable[[SyncReport], None] | None,
) -> None:
    run = feed.run
    assert run is not None
    vintage = {VINTAGE: "candidate"} if is_candidate(run["version"]) else {}
    last = False
    while not last:
        page = await client.events(run["version"], run["page"], page_size, filters)
        report.total = page.total_count
        rows = [{**row, **vintage} for row in page.rows]
        _widen_period(run, rows)
        first_line = run["page"] * page_size + 1
        run["page"] += 1
        last = page.last
        merged = ImportReport("ucdp", DATASET)
        await commit_page(engine, feed, report, merged, rows, first_line, WHO)
        if progress:
            progress(report)


def _widen_period(run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """The release's period so far: the earliest start and latest end of its rows."""
    starts = [str(r.get("date_start", ""))[:10] for r in rows if r.get("date_start")]
    ends = [str(r.get("date_end", ""))[:10] for r in rows if r.get("date_end")]
    if starts:
        run["first"] = min([*starts, *([run["first"]] if run["first"] else [])])
    if ends:
        run["last"] = max([*ends, *([run["last"]] if run["last"] else [])])


async def _supersede(conn: AsyncConnection, run: dict[str, Any]) -> int:
    """A yearly release's Candidate events it did not carry again, deleted (see above)."""
    if is_candidate(run["version"]) or run["first"] is None or run["last"] is None:
        return 0
    params = {
        "dataset": DATASET,
        "candidate": CANDIDATE_TAG,
        "first": datetime.fromisoformat(f"{run['first']}T00:00:00+00:00"),
        # the release's last day, whole
        "last": datetime.fromisoformat(f"{run['last']}T23:59:59.999999+00:00"),
        "started": datetime.fromisoformat(run["started"]),
        "countries": [country_tag(c) for c in run["countries"]] if run.get("countries") else None,
    }
    ids = [row.id for row in (await conn.execute(_SUPERSEDE, params)).all()]
    if ids:
        note = f"superseded by UCDP GED {run['version']}, which does not carry it"
        await record_revisions(conn, ids, Operation.DELETE, WHO, note)
    return len(ids)
