"""`frontline sync acled`: pull what changed upstream, with progress, a dry run and clear errors.

Credentials come from the environment (`FRONTLINE_ACLED_USERNAME`, `FRONTLINE_ACLED_PASSWORD`)
and are never printed; `FRONTLINE_ACLED_URL` points elsewhere (a mirror, the test emulator).
"""

import argparse
import asyncio
import sys
from datetime import date
from typing import Any

import httpx2

from app.ingest.feeds.acled import AcledClient
from app.ingest.feeds.errors import FeedError
from app.ingest.feeds.sync import SyncReport, sync_acled
from app.settings import Settings, get_settings
from app.store.engine import make_engine, resolve_database_url

TIMEOUT_S = 120.0  # one page of 5 000 rows can take ACLED a while


def add_parser(sub: Any) -> None:
    sync = sub.add_parser("sync", help="pull additions, edits and deletions from a live feed")
    feeds = sync.add_subparsers(dest="feed", required=True)
    acled = feeds.add_parser("acled", help="ACLED's API (OAuth credentials from the environment)")
    acled.add_argument("--country", action="append", default=[],
                       help="only this country (repeat for several), e.g. Ukraine")  # fmt: skip
    acled.add_argument("--start", help="only events on or after this date (YYYY-MM-DD)")
    acled.add_argument("--end", help="only events on or before this date (YYYY-MM-DD)")
    acled.add_argument(
        "--dry-run", action="store_true", help="count what would change, write nothing"
    )
    acled.set_defaults(func=cmd_sync_acled)


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def acled_filters(args: argparse.Namespace) -> dict[str, str]:
    """ACLED's own parameters for the chosen countries and dates."""
    filters: dict[str, str] = {}
    if args.country:
        filters["country"] = "|".join(args.country)
    if args.start or args.end:
        filters["event_date"] = f"{args.start or '1997-01-01'}|{args.end or '9999-12-31'}"
        filters["event_date_where"] = "BETWEEN"
    return filters


def _progress(report: SyncReport) -> None:
    c = report.counts
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"  {c['pages']} pages, {c['rows']} rows: {c['inserted']} new, {c['updated']} edited, "
          f"{c['unchanged']} unchanged, {c['rejected']} rejected, {c['deleted']} deleted",
          end=end, file=sys.stderr, flush=True)  # fmt: skip


def _credentials(settings: Settings) -> tuple[str, str]:
    if not settings.acled_username or settings.acled_password is None:
        raise FeedError("Set FRONTLINE_ACLED_USERNAME and FRONTLINE_ACLED_PASSWORD (your ACLED "
                        "account) to sync ACLED.")  # fmt: skip
    return settings.acled_username, settings.acled_password.get_secret_value()


async def _sync_acled(args: argparse.Namespace) -> SyncReport:
    settings = get_settings()
    username, password = _credentials(settings)
    engine = make_engine(resolve_database_url(settings), settings)
    try:
        async with httpx2.AsyncClient(timeout=TIMEOUT_S) as http:
            client = AcledClient(http, settings.acled_url, username, password)
            return await sync_acled(engine, client, filters=acled_filters(args),
                                    page_size=settings.feed_page_size, dry_run=args.dry_run,
                                    progress=_progress)  # fmt: skip
    finally:
        await engine.dispose()


def cmd_sync_acled(args: argparse.Namespace) -> None:
    try:
        report = asyncio.run(_sync_acled(args))
    except FeedError as exc:
        sys.exit(f"frontline sync acled: {exc}")
    c = report.counts
    verb = "would change" if report.dry_run else "merged"
    print(
        f"\nacled {verb}: {c['rows']} rows in {c['pages']} pages ({c['inserted']} new, "
        f"{c['updated']} edited, {c['unchanged']} unchanged, {c['rejected']} rejected), "
        f"{c['deleted']} deleted{'; resumed an interrupted run' if report.resumed else ''}"
    )
    for row in report.rejected[:20]:
        print(f"  rejected row {row['line']}, {row['column']}: {row['reason']}")
    if not report.dry_run:
        print(f"high-water marks: changes {report.mark}, deletions {report.deleted_mark}")
