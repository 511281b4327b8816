"""Physical designs of the events table, measured side by side.

    .venv/bin/python -m bench.physical --events 1000000 [--designs as_loaded,by_time,...]

Each design is a copy of the bench database `events_<N>` (`CREATE DATABASE … TEMPLATE`)
with one change to how the events are stored; then, as `bench.scale` does, the ids of a
sample of the small and medium URLs are checked against SQL, both cases are driven by wrk
against the served app, and the table's and its indexes' sizes are read. The copy is dropped
afterwards (`--keep` keeps it). Results: bench/results/physical_<N>.{json,md}.

- `as_loaded`: the generator's order (events in the order they were drawn).
- `by_time`: `CLUSTER` on `(occurred_at, id)`: a window's events sit on adjacent pages.
- `by_space`: `CLUSTER` on the `(geom, during)` GiST: a box's events sit together.
- `brin`: `by_time` plus BRIN indexes on `occurred_at` and `geom` beside the GiST ones, for
  the planner to pick.
- `monthly`: events as a table partitioned by month of `occurred_at` (declarative
  partitioning), every index on every partition. PostgreSQL requires a partitioned table's
  unique keys to hold the partition key, so the primary key becomes `(id, occurred_at)` and
  the unique `(dataset, external_id)` a plain index, and the foreign keys to events are
  dropped: the copy serves reads only.
"""

import argparse
import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from app.store import devdb
from bench import generate, workload
from bench.common import BENCH_DIR, BENCH_PORT, machine, revision, served, write_results
from bench.measure import (
    add_load_arguments,
    case_under_load,
)
from bench.run import check
from bench.workload import frontline_path

CASES = ("small", "medium")
Change = Callable[[asyncpg.Connection], Coroutine[Any, Any, None]]

# The table and its partitions, if any (a partitioned table and its indexes store nothing
# themselves: their partitions do).
_SIZES = """
WITH parts AS (
    SELECT 'events'::regclass AS relid
    UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass
)
SELECT sum(pg_relation_size(relid))::bigint AS table_bytes,
       sum(pg_indexes_size(relid))::bigint AS index_bytes, count(*) AS tables
FROM parts
"""
_INDEX_SIZES = """
SELECT i.indexrelid::regclass::text AS name,
       (pg_relation_size(i.indexrelid) + coalesce((SELECT sum(pg_relation_size(h.inhrelid))
        FROM pg_inherits h WHERE h.inhparent = i.indexrelid), 0))::bigint AS bytes
FROM pg_index i WHERE i.indrelid = 'events'::regclass ORDER BY 1
"""


async def _one(conn: asyncpg.Connection, sql: str) -> asyncpg.Record:
    row = await conn.fetchrow(sql)
    assert row is not None
    return row


async def _cluster(conn: asyncpg.Connection, index: str) -> None:
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute(f"CLUSTER events USING {index}")


async def by_time(conn: asyncpg.Connection) -> None:
    await _cluster(conn, "ix_events_occurred_at_id")


async def by_space(conn: asyncpg.Connection) -> None:
    await _cluster(conn, "ix_events_geom_during")


async def brin(conn: asyncpg.Connection) -> None:
    await by_time(conn)
    await conn.execute("CREATE INDEX ix_events_occurred_at_brin ON events USING brin (occurred_at)")
    await conn.execute("CREATE INDEX ix_events_geom_brin ON events USING brin (geom)")


async def monthly(conn: asyncpg.Connection) -> None:
    """The events moved into a table partitioned by month, with the same indexes."""
    await conn.execute("SET maintenance_work_mem = '1GB'")
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' "
        "AND indexname <> 'pk_events'"
    )
    columns = ", ".join(
        row["column_name"]
        for row in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'events' "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position"
        )
    )
    first, last = await _one(
        conn,
        "SELECT date_trunc('month', min(occurred_at), 'UTC'), "
        "date_trunc('month', max(occurred_at), 'UTC') FROM events",
    )
    await conn.execute("ALTER TABLE events RENAME TO events_flat")
    await conn.execute(
        "CREATE TABLE events (LIKE events_flat INCLUDING DEFAULTS INCLUDING GENERATED "
        "INCLUDING CONSTRAINTS INCLUDING STORAGE) PARTITION BY RANGE (occurred_at)"
    )
    months = await conn.fetch(
        "SELECT m, m + interval '1 month' AS n FROM generate_series($1::timestamptz, "
        "$2::timestamptz, interval '1 month') AS m",
        first,
        last,
    )
    for month in months:
        name = f"events_{month['m']:%Y_%m}"
        await conn.execute(
            f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM "
            f"('{month['m'].isoformat()}') TO ('{month['n'].isoformat()}')"
        )
    await conn.execute("CREATE TABLE events_other PARTITION OF events DEFAULT")
    await conn.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM events_flat")
    await conn.execute("DROP TABLE events_flat CASCADE")
    await conn.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (id, occurred_at)")
    for index in indexes:
        await conn.execute(index["indexdef"].replace("CREATE UNIQUE INDEX", "CREATE INDEX"))


DESIGNS: dict[str, Change | None] = {
    "as_loaded": None,
    "by_time": by_time,
    "by_space": by_space,
    "brin": brin,
    "monthly": monthly,
}


async def _prepare(url: str, change: Change | None) -> tuple[dict[str, Any], float]:
    """Apply ``change`` to the copy at ``url``; its sizes and the seconds the change took."""
    conn = await asyncpg.connect(generate.dsn(url))
    try:
        started = time.perf_counter()
        if change is not None:
            await change(conn)
        await conn.execute("VACUUM ANALYZE")
        seconds = time.perf_counter() - started
        sizes = dict(await _one(conn, _SIZES))
        sizes["indexes"] = {r["name"]: r["bytes"] for r in await conn.fetch(_INDEX_SIZES)}
        return sizes, seconds
    finally:
        await conn.close()


def run_design(
    name: str, source: str, every: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    copy = f"{source}_{name}"
    if devdb.database_exists(cluster, copy):
        devdb.drop_database(cluster, copy)
    devdb.create_database(cluster, copy, template=source)
    url = cluster.url(copy)
    try:
        sizes, seconds = asyncio.run(_prepare(url, DESIGNS[name]))
        out: dict[str, Any] = {"design": name, "change_s": round(seconds, 1), **sizes}
        cases = {case: every[case] for case in CASES}
        with served(url, args.workers) as (base, process):
            out["checks"] = asyncio.run(check(base, url, cases, args.sample))
            for case, queries in cases.items():
                paths = [frontline_path(q) for q in queries]
                out[case] = case_under_load(base, generate.dsn(url), process.pid, paths,
                                            out["checks"][case]["mean_kib"], args)  # fmt: skip
                print(name, case, out[case], flush=True)
        return out
    finally:
        if not args.keep:
            devdb.drop_database(cluster, copy)


def table(n: int, results: list[dict[str, Any]]) -> str:
    lines = [f"events: {n:,} — revision {revision()}", "",
             "| design | case | req/s | p50 ms | p95 ms | p99 ms | ids | table MB | indexes MB "
             "| change s |", "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]  # fmt: skip
    for r in results:
        for case in CASES:
            c, m = r["checks"][case], r[case]
            ok = "same" if not c["wrong"] else f"{len(c['wrong'])} differ"
            lines.append(f"| {r['design']} | {case} | {m['answers_per_s']} | {m['p50_ms']} | "
                         f"{m['p95_ms']} | {m['p99_ms']} | {ok} | "
                         f"{round(r['table_bytes'] / 2**20)} | "
                         f"{round(r['index_bytes'] / 2**20)} | {r['change_s']} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--keep", action="store_true", help="keep each design's copy")
    add_load_arguments(parser, sample=3, output="physical")
    args = parser.parse_args()
    _, data, every = workload.loaded(args.events)
    source = generate.database_name(args.events, "fronts")
    results = [run_design(name, source, every, args) for name in args.designs.split(",")]
    doc = {"events": args.events, "machine": machine(), "revision": revision(),
           "data": data, "designs": results}  # fmt: skip
    write_results(f"{args.output}_{args.events}", doc, table(args.events, results))


if __name__ == "__main__":
    main()
