"""N realistic synthetic conflict events in the real Frontline schema, seeded, loaded with COPY.

    .venv/bin/python -m bench.generate --events 1000000 [--seed 7] [--until 2026-11-25]

Events cluster around the seeded front-line and border places (`seeds/places.json`), each
place active in phases that follow the war's course (Mariupol spring 2022, Bakhmut 2022-23,
Avdiivka winter 2023-24, the Kursk incursion Aug 2024 - Mar 2025, Pokrovsk 2024-25…), so the
data has the spatial and temporal skew real map clients hit. Every event has a place, actors,
a type-dependent time span and precision, and 1-3 citations of seeded (plus a few bench)
sources. The database `events_<N>` in the bench cluster is reused when already loaded.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import time
from datetime import date
from typing import Any

import asyncpg

from app.ingest.seed import seed
from app.settings import Settings
from app.store import devdb
from app.store.engine import make_engine
from bench.common import BENCH_DIR, BENCH_PORT, bench_database
from bench.history import store_in_written_order, write_history
from bench.scatter import ScatterSampler
from bench.synthetic import EXTRA_SOURCES, GENERATOR_VERSION, Generator, Place, Sampler

# Where and when the events happen: the war's fronts (the first), or bench.scatter's.
DISTRIBUTIONS: dict[str, type[Sampler] | type[ScatterSampler]] = {
    "fronts": Sampler, "scatter": ScatterSampler}  # fmt: skip

EVENT_COLUMNS = ["id", "dataset", "external_id", "title", "description", "event_type",
                 "sub_event_type", "actors", "fatalities", "occurred_at", "occurred_until",
                 "time_precision", "place_id", "geom", "location_precision", "verification",
                 "tags", "version", "created_at", "updated_at", "deleted_at",
                 "source_count"]  # fmt: skip
COUNT_TRIGGER = "event_sources_count_insert"  # migration 0008
FEATURE_TRIGGER = "events_feature"  # migration 0009
CITATION_COLUMNS = ["id", "event_id", "source_id", "url", "published_at", "stance", "excerpt",
                    "created_at"]  # fmt: skip


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def read_places(conn: asyncpg.Connection) -> dict[str, Place]:
    rows = await conn.fetch(
        "SELECT p.id, p.slug, p.name, p.kind, coalesce(p.country_code, ''), ST_X(p.geom),"
        " ST_Y(p.geom), parent.slug FROM places p LEFT JOIN places parent"
        " ON parent.id = p.parent_id"
    )
    return {row[1]: Place(*row) for row in rows}


async def ensure_sources(conn: asyncpg.Connection) -> dict[str, int]:
    for slug, name, kind, country in EXTRA_SOURCES:
        await conn.execute(
            "INSERT INTO sources (slug, name, kind, country_code) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (slug) DO NOTHING",
            slug, name, kind, country,
        )  # fmt: skip
    return {row[0]: row[1] for row in await conn.fetch("SELECT slug, id FROM sources")}


# Indexes and constraints are rebuilt after the load: one sorted build per index instead of a
# million inserts into each, and one join instead of a trigger per row for each foreign key.
TABLES = ("events", "event_sources")
HISTORY = ("event_revisions",)  # loaded after the events' Feature texts (bench.history)
ANALYZED = ("events", "event_sources", "event_tile_cells", "event_revisions")
_DEFERRED = """
SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid),
       contype::text
FROM pg_constraint WHERE conrelid = ANY($1::regclass[]) AND contype IN ('u', 'f')
UNION ALL
SELECT 'index', indrelid::regclass::text, indexrelid::regclass::text,
       pg_get_indexdef(indexrelid), ''
FROM pg_index WHERE indrelid = ANY($1::regclass[]) AND NOT indisprimary
  AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = indexrelid)
"""


async def drop_deferred(conn: asyncpg.Connection, tables: tuple[str, ...] = TABLES) -> list[str]:
    """Drop the secondary indexes and constraints; returns the statements recreating them."""
    rows = await conn.fetch(_DEFERRED, list(tables))
    for kind, table, name, _definition, _type in rows:
        if kind == "constraint":
            await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        else:
            await conn.execute(f"DROP INDEX {name}")
    indexes = [d for k, _t, _n, d, _c in rows if k == "index"]
    uniques = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for k, t, n, d, c in rows if c == "u"]
    foreign = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for k, t, n, d, c in rows if c == "f"]
    # GiST/GIN builds are the slow ones: start them first so both cores stay busy.
    indexes.sort(key=lambda d: " USING btree " in d)
    return indexes + uniques + foreign


async def rebuild(url: str, statements: list[str], workers: int = 2) -> None:
    """Run the CREATE INDEX / ADD CONSTRAINT statements on `workers` connections at once."""
    foreign = [s for s in statements if "FOREIGN KEY" in s]
    queue = [s for s in statements if s not in foreign]

    async def worker(todo: list[str]) -> None:
        conn = await asyncpg.connect(dsn(url))
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            while todo:
                await conn.execute(todo.pop(0))
        finally:
            await conn.close()

    await asyncio.gather(*(worker(queue) for _ in range(workers)))
    await worker(foreign)  # after the unique indexes they may rely on


async def copy_events(
    conn: asyncpg.Connection, generator: Generator, n: int, seed_: int, first_id: int,
    first_citation: int,
) -> int:  # fmt: skip
    """COPY n events in time order, with their citations, in batches of 50 000 (seeded, so
    the same rows every time)."""
    rng = random.Random(seed_)
    draws = generator.sampler.stored(random.Random(seed_ + 1), n)
    events: list[tuple[Any, ...]] = []
    citations: list[tuple[Any, ...]] = []
    next_citation = first_citation
    for event_id, draw in enumerate(draws, start=first_id):
        event, side = generator.event(rng, event_id, draw)
        cited = generator.citations(rng, event_id, event[9], side, next_citation)
        events.append((*event, len(cited)))
        next_citation += len(cited)
        citations.extend(cited)
        if len(events) == 50_000 or event_id == first_id + n - 1:
            await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "event_sources", records=citations, columns=CITATION_COLUMNS
            )
            events.clear()
            citations.clear()
    return next_citation - first_citation


async def _geometry_codec(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "geometry", schema="public", encoder=bytes, decoder=bytes, format="binary"
    )


def marker(n: int, seed_: int, until: date, distribution: str) -> dict[str, Any]:
    return {"events": n, "seed": seed_, "until": until.isoformat(), "version": GENERATOR_VERSION,
            "distribution": distribution}  # fmt: skip


async def loaded_marker(url: str) -> dict[str, Any] | None:
    """The description of the loaded data, written as the database comment when a load ends."""
    conn = await asyncpg.connect(dsn(url))
    try:
        text = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return json.loads(text) if text else None


async def refresh_statistics(url: str) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(ANALYZED)}")
    finally:
        await conn.close()


async def write_features(conn: asyncpg.Connection) -> str:
    """Every event's Feature text in one statement, no other trigger firing (the rows are
    new to them already), then the old row versions cleared: by rewriting the table when a
    copy of it fits on the disk, else by VACUUM (the live rows stay in time order, after the
    freed space; at 10M events the rewrite would need ~30 GB more than the update's ~55)."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        await conn.execute("UPDATE events SET feature = event_feature_text(events)")
        await conn.execute("ALTER TABLE events ALTER COLUMN feature SET NOT NULL")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
    size = await conn.fetchval("SELECT pg_total_relation_size('events')")
    command = "VACUUM FULL" if shutil.disk_usage(BENCH_DIR).free > size else "VACUUM"
    await conn.execute(f"{command} events")
    return command


async def load(url: str, n: int, seed_: int, until: date, distribution: str) -> dict[str, Any]:
    """Seed, COPY n events with citations, rebuild indexes, VACUUM ANALYZE; timings in seconds."""
    timings: dict[str, Any] = {"events": n}
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        await seed(engine)  # the real places, boundaries and sources
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(dsn(url))
    try:
        await _geometry_codec(conn)
        places = await read_places(conn)
        sources = await ensure_sources(conn)
        generator = Generator(places, sources, DISTRIBUTIONS[distribution](places, until))
        started = time.perf_counter()
        async with conn.transaction():
            statements = await drop_deferred(conn)
            # The rows carry their citation count: no trigger updating each event again. Their
            # Feature texts are written in one pass once the citations and indexes are in.
            await conn.execute(f"ALTER TABLE event_sources DISABLE TRIGGER {COUNT_TRIGGER}")
            await conn.execute(f"ALTER TABLE events DISABLE TRIGGER {FEATURE_TRIGGER}")
            await conn.execute("ALTER TABLE events ALTER COLUMN feature DROP NOT NULL")
            first = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM events")
            first_citation = await conn.fetchval(
                "SELECT coalesce(max(id), 0) + 1 FROM event_sources"
            )
            cited = await copy_events(conn, generator, n, seed_, first, first_citation)
            await conn.execute(f"ALTER TABLE event_sources ENABLE TRIGGER {COUNT_TRIGGER}")
            await conn.execute(f"ALTER TABLE events ENABLE TRIGGER {FEATURE_TRIGGER}")
            for table in TABLES:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
        timings["citations"] = cited
        timings["copy_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await rebuild(url, statements)
        rebuilt = await conn.fetch(_DEFERRED, list(TABLES))
        assert len(rebuilt) == len(statements), "an index or constraint was not rebuilt"
        timings["indexes_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        timings["features_cleared_by"] = await write_features(conn)
        timings["features_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        statements = await drop_deferred(conn, HISTORY)
        await write_history(conn)
        await store_in_written_order(conn)
        await rebuild(url, statements)
        timings["revisions"] = await conn.fetchval("SELECT count(*) FROM event_revisions")
        timings["history_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(ANALYZED)}")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
        name = await conn.fetchval("SELECT current_database()")
        comment = json.dumps(marker(n, seed_, until, distribution)).replace("'", "''")
        await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
        timings["size"] = await conn.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
    finally:
        await conn.close()
    return timings


def database(
    n: int, seed_: int = 7, until: date | None = None, distribution: str = "fronts"
) -> tuple[str, dict[str, Any]]:
    """The URL of a bench database holding n generated events: reused, or (re)built now."""
    until = until or date.today()
    name = database_name(n, distribution)
    own = "BENCH_DATABASE_URL" not in os.environ
    cluster = devdb.start(BENCH_DIR, BENCH_PORT) if own else None
    if cluster is None or devdb.database_exists(cluster, name):
        if cluster is not None:  # bench.compare's view would block migrations of events
            devdb.run_sql(cluster, "DROP VIEW IF EXISTS bench_events", name)
        url = bench_database(name)
        found = asyncio.run(loaded_marker(url))
        wanted = marker(n, seed_, until, distribution)
        found = found and {"distribution": "fronts", **found}  # loaded before there were two
        if found and all(found[k] == wanted[k] for k in ("events", "seed", "version",
                                                         "distribution")):  # fmt: skip
            asyncio.run(refresh_statistics(url))  # a migration may have rewritten the table
            return url, found
        if cluster is not None:  # half loaded, or other data: start from an empty database
            devdb.drop_database(cluster, name)
    url = bench_database(name)  # created and migrated when missing
    started = time.perf_counter()
    timings = asyncio.run(load(url, n, seed_, until, distribution))
    timings["total_s"] = round(time.perf_counter() - started, 1)
    print(f"loaded {name}: {timings}")
    return url, {**marker(n, seed_, until, distribution), "load": timings}


def database_name(n: int, distribution: str) -> str:
    return f"events_{n}" if distribution == "fronts" else f"events_{n}_{distribution}"


def add_distribution_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--distribution", choices=sorted(DISTRIBUTIONS), default="fronts",
                        help="where and when: bench.synthetic or bench.scatter")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--until", type=date.fromisoformat, default=None)
    add_distribution_argument(parser)
    args = parser.parse_args()
    url, info = database(args.events, args.seed, args.until, args.distribution)
    print(url.split("@")[-1], info)


if __name__ == "__main__":
    main()
