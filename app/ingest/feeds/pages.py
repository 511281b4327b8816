"""What every feed run does with a page: merge it like an import, with the run's progress,
in one transaction (none in a dry run), and add up what it did."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.ingest.event_staging import ImportReport
from app.ingest.events import merge_rows
from app.ingest.feeds import state


@dataclass
class SyncReport:
    """What one run merged (or, in a dry run, would have)."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(state.COUNTERS, 0))
    rejected: list[dict[str, Any]] = field(default_factory=list)
    resumed: bool = False
    total: int | None = None  # rows the run will read, when upstream says (UCDP)
    mark: int | None = None
    deleted_mark: int | None = None


class DryRun(Exception):
    """Leave a page's transaction without writing."""


def as_text(row: Mapping[str, Any]) -> dict[str, str]:
    """ACLED's values as the CSV path reads them (numbers arrive as strings, or as numbers)."""
    return {str(k).lower(): "" if v is None else str(v) for k, v in row.items()}


async def commit_page(
    engine: AsyncEngine,
    feed: state.FeedState,
    report: SyncReport,
    merged: ImportReport,
    rows: list[dict[str, Any]],
    first_line: int,
    who: str,
) -> None:
    """Merge one page and save the run's progress in one transaction (none in a dry run)."""
    numbered = ((first_line + i, as_text(row)) for i, row in enumerate(rows))
    try:
        async with engine.begin() as conn:
            await merge_rows(conn, numbered, merged, who, partial=True)
            count(feed, report, merged)
            if report.dry_run:
                raise DryRun
            await state.save_progress(conn, feed)
    except DryRun:
        pass


def count(feed: state.FeedState, report: SyncReport, merged: ImportReport) -> None:
    page = {"pages": 1, "rows": merged.rows, "inserted": merged.inserted,
            "updated": merged.updated, "unchanged": merged.unchanged,
            "rejected": merged.rejected_count}  # fmt: skip
    for key, value in page.items():
        report.counts[key] += value
        feed.counts[key] = feed.counts.get(key, 0) + value
    report.rejected += merged.rejected[: 100 - len(report.rejected)]
