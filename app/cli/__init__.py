"""`frontline`: serve, db, migrate, seed, import, export, keys, places import, sync."""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.cli import data, matches, sync
from app.domain.errors import FrontlineError
from app.domain.filters import DEFAULT_EVENT_SORT, EventFilter, EventQuery, Page
from app.domain.parsing import parse_bbox, parse_csv_list, parse_datetime
from app.domain.vocab import EventType, Scope, values
from app.ingest.gazetteer import load_gazetteer
from app.ingest.places import PlaceImportError, import_places
from app.ingest.seed import seed
from app.services import keys, reads
from app.settings import default_secrets, get_settings, is_loopback
from app.store import backup, devdb, migrate
from app.store.engine import make_engine, resolve_database_url
from app.web.formats import Format
from app.web.views import export_body


def _database_url() -> str:
    return resolve_database_url(get_settings())


async def _seed(url: str, gazetteer: bool = True) -> None:
    engine = make_engine(url, get_settings())
    try:
        counts = await seed(engine)
        full = await load_gazetteer(engine) if gazetteer else None
    finally:
        await engine.dispose()
    print(
        f"seeded: {counts.places} places changed, {counts.names} names added, "
        f"{counts.sources} sources changed, {counts.events} events added"
    )
    if full is not None:
        print(f"gazetteer: {full.regions} regions changed, {full.settlements.places} settlements "
              f"and {full.region_names + full.settlements.names} spellings added")  # fmt: skip


def refuse_default_secrets(host: str) -> None:
    """A server others can reach must not run on a secret everyone knows (the built-in one)."""
    if is_loopback(host):
        return
    if names := default_secrets(get_settings()):
        sys.exit(
            f"frontline serve: listening on {host} needs your own secret: set "
            f"{' and '.join(names)} (it is the built-in value, which anyone can read in the "
            "source); on this machine alone, --host 127.0.0.1 runs without it"
        )


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.web.http import Utf8RequestLineProtocol

    refuse_default_secrets(args.host or get_settings().host)
    url = _database_url()
    # Workers re-read settings: hand them the URL that was just resolved.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    if not args.no_migrate:
        migrate.upgrade(url)
    if not args.no_seed:
        asyncio.run(_seed(url))
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        http=Utf8RequestLineProtocol,  # curl sends names in Cyrillic as raw UTF-8
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        proxy_headers=True,
    )


def cmd_db(args: argparse.Namespace) -> None:
    settings = get_settings()
    if args.action == "start":
        cluster = devdb.start(settings.data_dir, settings.db_port)
        print(f"embedded PostgreSQL running on 127.0.0.1:{cluster.port}")
    elif args.action == "stop":
        devdb.stop(settings.data_dir)
    elif args.action == "status":
        print(devdb.status(settings.data_dir))
    else:
        print(_database_url())


def cmd_migrate(args: argparse.Namespace) -> None:
    if args.downgrade:
        migrate.downgrade(_database_url(), args.downgrade)
    else:
        migrate.upgrade(_database_url(), args.revision)


def cmd_seed(args: argparse.Namespace) -> None:
    asyncio.run(_seed(_database_url(), gazetteer=not args.founding_only))


async def _export(url: str, args: argparse.Namespace) -> None:
    settings = get_settings()
    engine = make_engine(url, settings)
    query = EventQuery(filter=export_filter(args), page=Page(limit=1, sort=DEFAULT_EVENT_SORT))
    fmt = Format(args.format)
    try:
        batches = await reads.event_export(
            engine, query, settings.stream_chunk_rows, flat=fmt is Format.CSV
        )
        async for chunk in export_body(query, fmt, batches):
            sys.stdout.buffer.write(chunk)
    finally:
        await engine.dispose()
    sys.stdout.buffer.flush()


def export_filter(args: argparse.Namespace) -> EventFilter:
    """The same parsers as the HTTP API, so a filter means the same thing everywhere."""
    return EventFilter(
        bbox=parse_bbox(args.bbox) if args.bbox else None,
        interval=parse_datetime(args.datetime) if args.datetime else None,
        event_types=parse_csv_list(args.event_type, "event_type", values(EventType))
        if args.event_type
        else (),
        place=args.place,
        within=args.within,
    )


def cmd_export(args: argparse.Namespace) -> None:
    try:
        asyncio.run(_export(_database_url(), args))
    except FrontlineError as exc:
        sys.exit(f"frontline export: {exc.detail}")


async def _import_places(url: str, path: Path) -> None:
    engine = make_engine(url, get_settings())
    try:
        counts = await import_places(engine, path)
    finally:
        await engine.dispose()
    print(
        f"imported {path.name}: {counts.places} places added or changed, {counts.names} "
        f"spellings added, {counts.skipped} spellings skipped (place not in the gazetteer)"
    )


def cmd_places_import(args: argparse.Namespace) -> None:
    try:
        asyncio.run(_import_places(_database_url(), Path(args.file)))
    except (PlaceImportError, OSError) as exc:
        sys.exit(f"frontline places import: {exc}; nothing was imported")


async def _keys(url: str, args: argparse.Namespace) -> None:
    settings = get_settings()
    engine = make_engine(url, settings)
    try:
        if args.keys_command == "create":
            secret = await keys.create_key(engine, settings, args.name, Scope(args.scope))
            print(f"created key {args.name!r} with scope {args.scope}; it is shown only once:")
            print(secret)
        elif args.keys_command == "revoke":
            if not await keys.revoke_key(engine, args.name):
                raise ValueError(f"no active key named {args.name!r}")
            print(f"revoked key {args.name!r}")
        else:
            for key in await keys.list_keys(engine):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                print(f"{key.name}\t{','.join(key.scopes)}\t{state}\tlast used {used}")
    finally:
        await engine.dispose()


def cmd_keys(args: argparse.Namespace) -> None:
    try:
        asyncio.run(_keys(_database_url(), args))
    except ValueError as exc:
        sys.exit(f"frontline keys: {exc}")


def cmd_backup(args: argparse.Namespace) -> None:
    try:
        if args.command == "backup":
            backup.backup(_database_url(), Path(args.file))
        else:
            backup.restore(_database_url(), Path(args.file))
    except backup.BackupError as exc:
        sys.exit(f"frontline {args.command}: {exc}")
    print(f"{args.command}: {args.file}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, seed and serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true")
    serve.add_argument("--no-seed", action="store_true")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="the embedded PostgreSQL cluster (when DATABASE_URL is unset)")
    db.add_argument("action", choices=["start", "stop", "status", "url"])
    db.set_defaults(func=cmd_db)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--revision", default="head")
    mig.add_argument("--downgrade", metavar="REVISION", help="downgrade to REVISION (e.g. base)")
    mig.set_defaults(func=cmd_migrate)

    seed_cmd = sub.add_parser(
        "seed", help="load the founding places and events and the full gazetteer (idempotent)"
    )
    seed_cmd.add_argument("--founding-only", action="store_true",
                          help="only the founding data, not the full gazetteer")  # fmt: skip
    seed_cmd.set_defaults(func=cmd_seed)

    export = sub.add_parser("export", help="stream matching events to stdout")
    export.add_argument("--format", choices=["geojson", "csv", "ndjson"], default="geojson")
    export.add_argument("--bbox", help="minLon,minLat,maxLon,maxLat")
    export.add_argument("--datetime", help="instant, date or start/end interval")
    export.add_argument("--event-type", help="comma list of event types")
    export.add_argument("--place", help="id, slug or name of the place events are tied to")
    export.add_argument("--within", help="id, slug or name of a region with a boundary")
    export.set_defaults(func=cmd_export)

    for name, text in (
        ("backup", "dump the whole database to FILE (pg_dump custom format)"),
        ("restore", "restore a dump made by `frontline backup` (all or nothing)"),
    ):
        tool = sub.add_parser(name, help=text)
        tool.add_argument("file")
        tool.set_defaults(func=cmd_backup)

    keys = sub.add_parser("keys", help="API keys for writes (and reads, when required)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; the secret is printed once")
    create.add_argument("name")
    create.add_argument("--scope", choices=values(Scope), default=Scope.WRITE.value)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    keys_sub.add_parser("list", help="list keys (names, scopes, state; never secrets)")
    keys.set_defaults(func=cmd_keys)

    places = sub.add_parser("places", help="manage the gazetteer")
    places_sub = places.add_subparsers(dest="places_command", required=True)
    imp = places_sub.add_parser(
        "import",
        help="load a GeoNames table, a GeoNames alternateNames table or a GeoJSON file "
        "(optionally .gz); idempotent, all or nothing",
    )
    imp.add_argument("file")
    imp.set_defaults(func=cmd_places_import)
    data.add_parsers(sub)
    sync.add_parser(sub)
    matches.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except devdb.DevDbError as exc:
        sys.exit(f"frontline: {exc}")


if __name__ == "__main__":
    main()
