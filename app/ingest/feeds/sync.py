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
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.vocab import Operation
from app.ingest.event_staging import ImportReport
from app.ingest.events import merge_rows
from app.ingest.feeds import state
from app.ingest.feeds.acled import AcledClient
from app.ingest.feeds.errors import FeedError
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


@dataclass
class SyncReport:
    """What one run merged (or, in a dry run, would have)."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(state.COUNTERS, 0))
    rejected: list[dict[str, Any]] = field(default_factory=list)
    resumed: bool = False
    mark: int | None = None
    deleted_mark: int | None = None


class _DryRun(Exception):
    """Leave a page's transaction without writing."""


def _as_text(row: Mapping[str, Any]) -> dict[str, str]:
    """ACLED's values as the CSV path reads them (numbers arrive as strings, or as numbers)."""
    return {str(k).lower(): "" if v is None else str(v) for k, v in row.items()}


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
    async with engine.connect() as holder:
        if not await state.lock(holder, FEED):
            raise FeedError("Another sync of the ACLED feed is running.")
        try:
            async with engine.begin() as conn:
                feed = await state.load(conn, FEED)
            report.resumed = feed.run is not None
            feed.run = feed.run or _new_run(feed, now())
            try:
                await _events(engine, client, feed, report, dict(filters or {}), page_size,
                              progress)  # fmt: skip
                await _deletions(engine, client, feed, report, page_size, progress)
            except FeedError as exc:
                await state.record_error(engine, FEED, str(exc))
                raise
            if not dry_run:
                async with engine.begin() as conn:
                    _close(feed)
                    await state.finish(conn, feed)
        finally:
            await state.unlock(holder, FEED)
            await holder.commit()
    report.mark, report.deleted_mark = feed.mark, feed.deleted_mark
    return report


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
        await _commit_page(engine, feed, report, merged, rows, first_line)
        if progress:
            progress(report)


async def _commit_page(
    engine: AsyncEngine,
    feed: state.FeedState,
    report: SyncReport,
    merged: ImportReport,
    rows: list[dict[str, Any]],
    first_line: int,
) -> None:
    """Merge one page and save the run's progress in one transaction (none in a dry run)."""
    numbered = ((first_line + i, _as_text(row)) for i, row in enumerate(rows))
    try:
        async with engine.begin() as conn:
            await merge_rows(conn, numbered, merged, WHO, partial=True)
            _count(feed, report, merged)
            if report.dry_run:
                raise _DryRun
            await state.save_progress(conn, feed)
    except _DryRun:
        pass


def _count(feed: state.FeedState, report: SyncReport, merged: ImportReport) -> None:
    page = {"pages": 1, "rows": merged.rows, "inserted": merged.inserted,
            "updated": merged.updated, "unchanged": merged.unchanged,
            "rejected": merged.rejected_count}  # fmt: skip
    for key, value in page.items():
        report.counts[key] += value
        feed.counts[key] = feed.counts.get(key, 0) + value
    report.rejected += merged.rejected[: 100 - len(report.rejected)]


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
                    raise _DryRun
                await state.save_progress(conn, feed)
        except _DryRun:
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
