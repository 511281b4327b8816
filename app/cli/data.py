"""`frontline import` and `frontline load open-data`: files coming in, from the command line."""

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from app.ingest.dates import DateOrderError
from app.ingest.event_rows import ImportFileError
from app.ingest.event_staging import ImportReport
from app.ingest.events import import_events
from app.ingest.inspect import inspect_file
from app.ingest.mappings import MappingError, load_mapping
from app.ingest.open_data import load_open_data
from app.ingest.seed import seed
from app.settings import get_settings
from app.store import migrate
from app.store.engine import make_engine, resolve_database_url


def _database_url() -> str:
    return resolve_database_url(get_settings())


async def _load_open_data(url: str) -> list[ImportReport]:
    engine = make_engine(url, get_settings())
    try:
        await seed(engine)  # the founding data first, as `frontline seed` does
        return await load_open_data(engine)
    finally:
        await engine.dispose()


def cmd_load(args: argparse.Namespace) -> None:
    url = _database_url()
    migrate.upgrade(url)
    for report in asyncio.run(_load_open_data(url)):
        print(f"{report.dataset}: {report.rows} rows, {report.inserted} inserted, "
              f"{report.updated} updated, {report.unchanged} unchanged, "
              f"{report.rejected_count} rejected")  # fmt: skip
        for bad in report.rejected[:5]:
            print(f"  line {bad['line']}: {bad['column']}: {bad['reason']}")


async def _import_events(url: str, args: argparse.Namespace, total: int) -> ImportReport:
    mapping = load_mapping(args.mapping) if args.mapping else None
    engine = make_engine(url, get_settings())

    def progress(rows: int) -> None:
        print(f"\rread {rows:,} rows", end="", file=sys.stderr, flush=True)

    try:
        who = f"cli:{args.dataset}"
        return await import_events(
            engine,
            Path(args.file),
            args.dataset,
            who,
            partial=args.partial,
            fmt=args.format,
            progress=progress,
            mapping=mapping,
            date_format=args.date_format,
            encoding=args.encoding,
            last_wins=args.last_wins,
        )
    finally:
        print(f"\r{total:,} bytes read", file=sys.stderr)
        await engine.dispose()


def cmd_import(args: argparse.Namespace) -> None:
    if args.inspect:
        try:
            print(inspect_file(Path(args.file), args.encoding or "utf-8"), end="")
        except (ImportFileError, OSError) as exc:
            sys.exit(f"frontline import --inspect: {exc}")
        return
    if not args.dataset:
        sys.exit("frontline import: --dataset is required (the dataset the rows belong to)")
    try:
        total = Path(args.file).stat().st_size
        report = asyncio.run(_import_events(_database_url(), args, total))
    except (ImportFileError, MappingError, DateOrderError, OSError) as exc:
        sys.exit(f"frontline import: {exc}; nothing was imported")
    for bad in report.rejected:
        print(f"line {bad['line']}: {bad['column']}: {bad['reason']}", file=sys.stderr)
    for kept in report.warnings[:20]:
        print(f"warning, line {kept['line']}: {kept['column']}: {kept['reason']}", file=sys.stderr)
    summary = (f"{report.rows} rows: {report.inserted} inserted, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.rejected_count} rejected")  # fmt: skip
    if report.warning_count:
        summary += f", {report.warning_count} values kept as text (warnings)"
    if not report.written:
        sys.exit(f"frontline import: {summary}; nothing was written (use --partial to keep "
                 "the good rows)")  # fmt: skip
    print(summary)


def add_parsers(sub: Any) -> None:
    load = sub.add_parser("load", help="load the open data the project ships (make demo)")
    load.add_argument("what", choices=["open-data"],
                      help="UCDP GED Ukraine 2014-2022 and the air-raid alert tables")  # fmt: skip
    load.set_defaults(func=cmd_load)

    imp_events = sub.add_parser(
        "import", help="import events from ACLED-style CSV, UCDP GED-style CSV or GeoJSON"
    )
    imp_events.add_argument("file")
    imp_events.add_argument("--dataset", help="dataset the rows belong to (required to import)")
    imp_events.add_argument("--inspect", action="store_true",
                            help="print the mapping that imports FILE")  # fmt: skip
    imp_events.add_argument("--format", choices=["acled", "ucdp", "geojson"])
    imp_events.add_argument("--partial", action="store_true", help="keep the good rows")
    imp_events.add_argument("--last-wins", action="store_true",
                            help="a repeated id keeps its last row, not its first")  # fmt: skip
    imp_events.add_argument("--mapping", help="any CSV: a shipped mapping's name (mappings/) "
                            "or a TOML file saying which column holds what")  # fmt: skip
    imp_events.add_argument("--date-format", choices=["DD/MM/YYYY", "MM/DD/YYYY"],
                            help="the order of day/month dates in a mapped file")  # fmt: skip
    imp_events.add_argument("--encoding", help="the file's text encoding (default UTF-8), "
                            "e.g. cp1252 for older spreadsheet exports")  # fmt: skip
    imp_events.set_defaults(func=cmd_import)
