"""`frontline sync acled|ucdp`: pull what changed upstream, with progress, a dry run, clear errors.

Credentials come from the environment (`FRONTLINE_ACLED_USERNAME`, `FRONTLINE_ACLED_PASSWORD`,
`FRONTLINE_UCDP_TOKEN`) and are never printed; `FRONTLINE_ACLED_URL` and `FRONTLINE_UCDP_URL`
point elsewhere (a mirror, the test emulators).
"""

import argparse
import asyncio
import sys
import time
from datetime import date
from typing import Any

import httpx2
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from app.ingest.feeds.acled import AcledClient
from app.ingest.feeds.acled_sync import sync_acled
from app.ingest.feeds.errors import FeedError
from app.ingest.feeds.pages import SyncReport
from app.ingest.feeds.ucdp import MAX_PAGE_SIZE, VERSION, UcdpClient
from app.ingest.feeds.ucdp_sync import sync_ucdp
from app.settings import Settings, get_settings
from app.store.engine import make_engine, resolve_database_url

TIMEOUT_S = 120.0  # one page of 5 000 rows can take ACLED a while


def add_parser(sub: Any) -> None:
    sync = sub.add_parser("sync", help="pull additions, edits and deletions from a live feed")
    feeds = sync.add_subparsers(dest="feed", required=True)
    acled = feeds.add_parser("acled", help="ACLED's API (OAuth credentials from the environment)")
    acled.add_argument("--country", action="append", default=[],
                       help="only this country (repeat for several), e.g. Ukraine")  # fmt: skip
    acled.add_argument("--region", action="append", default=[],
                       help="only this ACLED region (repeat for several), e.g. Europe")  # fmt: skip
    acled.add_argument("--start", type=_date, help="only events on or after this date (YYYY-MM-DD)")
    acled.add_argument("--end", type=_date, help="only events on or before this date (YYYY-MM-DD)")
    acled.add_argument(
        "--dry-run", action="store_true", help="count what would change, write nothing"
    )
    acled.set_defaults(func=cmd_sync_acled)
    ucdp = feeds.add_parser("ucdp", help="UCDP's GED releases (token from the environment)")
    ucdp.add_argument("--version", action="append", required=True, type=_release,
                      help="a release to merge (repeat, in order): 25.1, 26.0.8")  # fmt: skip
    ucdp.add_argument("--country", action="append", default=[],
                      help="a Gleditsch-Ward country code: 369 Ukraine, 365 Russia")  # fmt: skip
    ucdp.add_argument("--start", type=_date, help="only events from this date (YYYY-MM-DD)")
    ucdp.add_argument("--end", type=_date, help="only events up to this date (YYYY-MM-DD)")
    ucdp.add_argument("--dry-run", action="store_true",
                      help="count what would change, write nothing")  # fmt: skip
    ucdp.set_defaults(func=cmd_sync_ucdp)


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _release(text: str) -> str:
    if not VERSION.match(text):
        raise argparse.ArgumentTypeError(f"expected a release like 25.1 or 26.0.8, got {text!r}")
    return text


def ucdp_filters(args: argparse.Namespace) -> dict[str, str]:
    """UCDP's own parameters for the chosen countries and dates."""
    filters = {"Country": ",".join(args.country)} if args.country else {}
    if args.start:
        filters["StartDate"] = args.start
    if args.end:
        filters["EndDate"] = args.end
    return filters


def acled_filters(args: argparse.Namespace) -> dict[str, str]:
    """ACLED's own parameters for the chosen countries and dates."""
    filters: dict[str, str] = {}
    if args.country:
        filters["country"] = "|".join(args.country)
    if args.region:
        filters["region"] = "|".join(args.region)
    if args.start or args.end:
        filters["event_date"] = f"{args.start or '1997-01-01'}|{args.end or '9999-12-31'}"
        filters["event_date_where"] = "BETWEEN"
    return filters


class Progress:
    """Rows, rate and (when upstream gives a total) ETA, as a bar on a terminal; plain lines
    otherwise (logs, CI)."""

    def __init__(self, feed: str) -> None:
        self.feed, self.bar, self.task = feed, None, None
        if sys.stderr.isatty():
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("rows, {task.fields[rate]} rows/s"), TimeElapsedColumn(),
                       TimeRemainingColumn())  # fmt: skip
            self.bar = RichProgress(*columns, console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(feed, total=None, rate="…")
            self.bar.start()
        self.started = time.monotonic()

    def __call__(self, report: SyncReport) -> None:
        c = report.counts
        if self.bar is not None and self.task is not None:
            rate = f"{c['rows'] / max(time.monotonic() - self.started, 1e-3):.0f}"
            self.bar.update(self.task, completed=c["rows"], total=report.total, rate=rate)
            return
        print(f"  {self.feed}: {c['pages']} pages, {c['rows']} rows: {c['inserted']} new, "
              f"{c['updated']} edited, {c['unchanged']} unchanged, {c['rejected']} rejected, "
              f"{c['deleted']} deleted", file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _credentials(settings: Settings) -> tuple[str, str]:
    if not settings.acled_username or settings.acled_password is None:
        raise FeedError("Set FRONTLINE_ACLED_USERNAME and FRONTLINE_ACLED_PASSWORD (your ACLED "
                        "account) to sync ACLED.")  # fmt: skip
    return settings.acled_username, settings.acled_password.get_secret_value()


async def _sync_acled(args: argparse.Namespace) -> SyncReport:
    settings = get_settings()
    username, password = _credentials(settings)
    engine = make_engine(resolve_database_url(settings), settings)
    progress = Progress("acled")
    try:
        async with httpx2.AsyncClient(timeout=TIMEOUT_S) as http:
            client = AcledClient(http, settings.acled_url, username, password)
            return await sync_acled(engine, client, filters=acled_filters(args),
                                    page_size=settings.feed_page_size, dry_run=args.dry_run,
                                    progress=progress)  # fmt: skip
    finally:
        progress.close()
        await engine.dispose()


def cmd_sync_acled(args: argparse.Namespace) -> None:
    try:
        report = asyncio.run(_sync_acled(args))
    except FeedError as exc:
        sys.exit(f"frontline sync acled: {exc}")
    _summary("acled", report)
    if not report.dry_run:
        print(f"high-water marks: changes {report.mark}, deletions {report.deleted_mark}")


async def _sync_ucdp(args: argparse.Namespace) -> list[tuple[str, SyncReport]]:
    settings = get_settings()
    if settings.ucdp_token is None:
        raise FeedError("Set FRONTLINE_UCDP_TOKEN (your UCDP API access token) to sync UCDP.")
    engine = make_engine(resolve_database_url(settings), settings)
    reports = []
    try:
        async with httpx2.AsyncClient(timeout=TIMEOUT_S) as http:
            client = UcdpClient(http, settings.ucdp_url, settings.ucdp_token.get_secret_value())
            for version in args.version:
                progress = Progress(f"ucdp {version}")
                try:
                    report = await sync_ucdp(
                        engine, client, version, filters=ucdp_filters(args),
                        page_size=min(settings.feed_page_size, MAX_PAGE_SIZE),
                        dry_run=args.dry_run, progress=progress,
                    )  # fmt: skip
                finally:
                    progress.close()
                reports.append((version, report))
    finally:
        await engine.dispose()
    return reports


def cmd_sync_ucdp(args: argparse.Namespace) -> None:
    try:
        reports = asyncio.run(_sync_ucdp(args))
    except FeedError as exc:
        sys.exit(f"frontline sync ucdp: {exc}")
    for version, report in reports:
        _summary(f"ucdp {version}", report)


def _summary(feed: str, report: SyncReport) -> None:
    c = report.counts
    verb = "would change" if report.dry_run else "merged"
    resumed = "; resumed an interrupted run" if report.resumed else ""
    print(f"\n{feed} {verb}: {c['rows']} rows in {c['pages']} pages ({c['inserted']} new, "
          f"{c['updated']} edited, {c['unchanged']} unchanged, {c['rejected']} rejected), "
          f"{c['deleted']} deleted{resumed}")  # fmt: skip
    for row in report.rejected[:20]:
        print(f"  rejected row {row['line']}, {row['column']}: {row['reason']}")
