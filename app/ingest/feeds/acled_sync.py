"""`frontline sync acled`: merge ACLED's additions, edits and deletions since the last run.

A run asks for every row whose upstream ``timestamp`` (the Unix time of its last add or edit)
is at or after the feed's mark, page by page; each page is merged in one transaction through
the import path (an edit keeps ``event_id_cnty`` and becomes a new version with a revision;
an unchanged row writes nothing) together with the run's progress. Then the deletions since
the deletion mark become soft deletes with the reason in their revision. The marks move when
the run ends, to the newest upstream time seen but never past the run's start, so a row
edited while the run paged is asked for again next time, and nothing is skipped.

A killed run resumes at the page after its last committed one; repeating a page is harmless
(the merge is idempotent), so there is no gap and no duplicate.
"""

import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.vocab import Operation
from app.ingest.event_staging import ImportReport
from app.ingest.feeds import state
from app.ingest.feeds.acled import AcledClient
from app.ingest.feeds.pages import DryRun, SyncReport, commit_page
from app.store.revisions import record_revisions

FEED = DATASET = "acled"
WHO = "feed:acled"
_SOFT_DELETE = text(
    """
    UPDATE events e SET deleted_at = to_timestamp(d.deleted_at), version = e.version + 1,
                        updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:times AS bigint[])) AS d(external_id, deleted_at)
    WHERE e.dataset = :dataset AND e.external_id = d.external_id AND e.deleted_at IS NULL
    RETURNING e.id
    """
)


def _newest(rows: list[dict[str, Any]], column: str, before: int | None) -> int | None:
    times = [int(r[column]) for r in rows if str(r.get(column, "")).strip().isdigit()]
    return max([*times, *([before] if before is not None else [])], default=None)


def _new_run(feed: state.FeedState, now: float) -> dict[str, Any]:
    return {"phase": "events", "page": 1, "started": int(now), "since": feed.mark or 0,
            "deleted_since": feed.deleted_mark or 0,
            "newest": None, "newest_deleted": None}  # fmt: skip


async def sync_acled(
    engine: AsyncEngine,
    client: AcledClient,
    *,
    filters: Mapping[str, str] | None = None,
    page_size: int = 5000,
    dry_run: bool = False,
    progress: Callable[[SyncReport], None] | None = None,
    now: Callable[[], float] = time.time,
) -> SyncReport:
    """One run of the ACLED feed (see the module docstring); FeedError when it cannot go on."""
    report = SyncReport(dry_run)
    name = feed_name(filters or {})
    async with state.exclusive(engine, name, "ACLED"):
        async with engine.begin() as conn:
            feed = await state.load(conn, name)
        report.resumed = feed.run is not None
        feed.run = feed.run or _new_run(feed, now())
        await _events(engine, client, feed, report, dict(filters or {}), page_size, progress)
        await _deletions(engine, client, feed, report, page_size, progress)
        if not dry_run:
            async with engine.begin() as conn:
                _close(feed)
                await state.finish(conn, feed)
    report.mark, report.deleted_mark = feed.mark, feed.deleted_mark
    return report


def feed_name(filters: Mapping[str, str]) -> str:
    """The feed's state row: one per filter set, so a run for Russia never starts from the
    mark a run for Ukraine left (it would skip Russia's older rows)."""
    return " ".join([FEED, *(f"{k}={filters[k]}" for k in sorted(filters))])


def _close(feed: state.FeedState) -> None:
    """The marks after a whole run: the newest upstream time seen, never past its start."""
    assert feed.run is not None
    started = feed.run["started"]
    for mark, newest in (("mark", "newest"), ("deleted_mark", "newest_deleted")):
        if feed.run[newest] is not None:
            setattr(feed, mark, max(getattr(feed, mark) or 0, min(feed.run[newest], started)))
    feed.run = None


async def _events(
    engine: AsyncEngine,
    client: AcledClient,
    feed: state.FeedState,
    report: SyncReport,
    filters: dict[str, str],
    page_size: int,
    progress: Callable[[SyncReport], None] | None,
) -> None:
    run = feed.run
    assert run is not None
    asked = {**filters, "timestamp": str(run["since"]), "timestamp_where": ">="}
    while run["phase"] == "events":
        rows = await client.events(run["page"], page_size, asked)
        first_line = (run["page"] - 1) * page_size + 1
        merged = ImportReport("acled", DATASET)
        run["newest"] = _newest(rows, "timestamp", run["newest"])
        run["page"] += 1
        if len(rows) < page_size:
            run.update(phase="deletions", page=1)
        await commit_page(engine, feed, report, merged, rows, first_line, WHO)
        if progress:
            progress(report)


async def _deletions(
    engine: AsyncEngine,
    client: AcledClient,
    feed: state.FeedState,
    report: SyncReport,
    page_size: int,
    progress: Callable[[SyncReport], None] | None,
) -> None:
    run = feed.run
    assert run is not None
    while run["phase"] == "deletions":
        rows = await client.deletions(run["page"], page_size, run["deleted_since"])
        run["newest_deleted"] = _newest(rows, "deleted_timestamp", run["newest_deleted"])
        run["page"] += 1
        if len(rows) < page_size:
            run["phase"] = "done"
        try:
            async with engine.begin() as conn:
                gone = await _soft_delete(conn, rows)
                report.counts["deleted"] += gone
                feed.counts["deleted"] = feed.counts.get("deleted", 0) + gone
                if report.dry_run:
                    raise DryRun
                await state.save_progress(conn, feed)
        except DryRun:
            pass
        if progress:
            progress(report)


async def _soft_delete(conn: Any, rows: list[dict[str, Any]]) -> int:
    """Tombstones for the deleted rows this dataset holds; each revision says why."""
    wanted = [(str(r.get("event_id_cnty", "")).strip(), str(r.get("deleted_timestamp", "")))
              for r in rows]  # fmt: skip
    wanted = [(i, t) for i, t in wanted if i and t.strip().isdigit()]
    if not wanted:
        return 0
    params = {"ids": [i for i, _ in wanted], "times": [int(t) for _, t in wanted],
              "dataset": DATASET}  # fmt: skip
    ids = [row.id for row in (await conn.execute(_SOFT_DELETE, params)).all()]
    if ids:
        await record_revisions(conn, ids, Operation.DELETE, WHO, "deleted upstream by ACLED")
    return len(ids)
