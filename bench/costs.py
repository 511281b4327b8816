"""What one page costs, part by part: in PostgreSQL (EXPLAIN ANALYZE of reduced statements)
and in Python (statement building, SQLAlchemy, pool pre-ping, ETag, encoding).

    .venv/bin/python -m bench.costs --events 1000000 [--case medium]

Every figure is the best of several warm runs, so that other work on the machine inflates
it as little as possible. Results: bench/results/costs.{json,md}.
"""

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.filters import BBox, EventFilter, Interval, Page
from app.settings import Settings
from app.store.engine import connect_args
from app.store.queries import events as event_sql
from app.web import output
from app.web.responses import etag_of
from bench import generate, workload
from bench.common import write_results
from bench.explain import JOIN, frontline_sql


def _without(sql: str, start: str, end: str) -> str:
    """The statement with the subquery that starts with `start` (up to `end`) set to NULL."""
    i = sql.index(start)
    j = sql.index(end, i) + len(end)
    return sql[:i] + "NULL" + sql[j:]


async def database_parts(conn: asyncpg.Connection, sql: str, runs: int) -> dict[str, float]:
    """Execution ms of the statement reduced to ids, + geometry, + properties, all of it."""
    where = sql.split(JOIN)[1]
    base = f"FROM events LEFT OUTER JOIN places ON places.id = events.place_id WHERE {where}"
    citations = "WHERE event_sources.event_id = events.id)"
    no_citations = _without(_without(sql, "(SELECT count(*)", citations),
                            "(SELECT coalesce(json_agg", citations)  # fmt: skip
    statements = {
        "ids only": f"SELECT events.id, events.occurred_at {base}",
        "ids + ST_AsGeoJSON": f"SELECT events.id, ST_AsGeoJSON(events.geom, 6) {base}",
        "Features without citations and source_count": no_citations,
        "Features (Frontline's statement)": sql,
    }
    out = {}
    for name, statement in statements.items():
        best = float("inf")
        for _ in range(runs):
            plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}"))
            best = min(best, plan[0]["Execution Time"])
        out[name] = round(best, 1)
    return out


async def best_ms(action: Callable[[], Awaitable[Any]], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 3)


async def python_parts(url: str, q: workload.Query, runs: int) -> dict[str, float]:
    """Milliseconds per request spent in Python around the same page."""
    f = EventFilter(bbox=BBox(*q.bbox) if q.bbox else None, interval=Interval(q.start, q.end))
    page = Page(limit=q.limit or 1000)
    settings = Settings.model_validate({"DATABASE_URL": url})
    args = connect_args(settings)
    engines = {ping: create_async_engine(url, pool_pre_ping=ping, connect_args=args)
               for ping in (True, False)}  # fmt: skip
    stmt = event_sql.events_page(f, page)
    dialect = engines[True].dialect
    compiled = stmt.compile(dialect=dialect)
    params = [compiled.params[name] for name in compiled.positiontup or []]
    raw = await asyncpg.connect(generate.dsn(url))

    async def sqlalchemy_fetch() -> Any:
        async with engines[False].connect() as conn:
            return (await conn.execute(event_sql.events_page(f, page))).all()

    async def checkout(ping: bool) -> None:
        async with engines[ping].connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def sync(action: Callable[[], Any]) -> Any:
        return action()

    try:
        rows = await sqlalchemy_fetch()
        features = [row[0] for row in rows]
        parts = [str(cell) for row in rows for cell in row]
        links = [{"href": "http://127.0.0.1/events", "rel": "self", "type": "application/geo+json"}]
        result = {
            "build the Select (app.store.queries)": await best_ms(
                lambda: sync(lambda: event_sql.events_page(f, page)), runs),
            "build the Select + its SQLAlchemy cache key": await best_ms(
                lambda: sync(lambda: event_sql.events_page(f, page)._generate_cache_key()), runs),
            "SQLAlchemy compile without cache": await best_ms(
                lambda: sync(lambda: stmt.compile(dialect=dialect)), runs),
            "fetch the page: asyncpg alone": await best_ms(
                lambda: raw.fetch(str(compiled), *params), runs),
            "fetch the page: SQLAlchemy execute + all()": await best_ms(sqlalchemy_fetch, runs),
            "pool checkout + SELECT 1, pre-ping on": await best_ms(lambda: checkout(True), runs),
            "pool checkout + SELECT 1, pre-ping off": await best_ms(lambda: checkout(False), runs),
            "ETag (blake2b over every cell)": await best_ms(
                lambda: sync(lambda: etag_of(parts)), runs),
            "FeatureCollection bytes (app.web.output)": await best_ms(
                lambda: sync(lambda: b"".join(output.feature_collection(features, links))), runs),
            "features on the page": len(rows),
        }  # fmt: skip
    finally:
        await raw.close()
        for engine in engines.values():
            await engine.dispose()
    return result


async def measure(url: str, q: workload.Query, runs: int) -> dict[str, Any]:
    conn = await asyncpg.connect(generate.dsn(url))
    try:
        db = await database_parts(conn, await frontline_sql(url, q), runs)
    finally:
        await conn.close()
    return {"url": workload.frontline_path(q), "database_ms": db,
            "python_ms": await python_parts(url, q, runs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", default="small,medium,large")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    url, _, every = workload.loaded(args.events)
    found = {case: asyncio.run(measure(url, every[case][0], args.runs))
             for case in args.cases.split(",")}  # fmt: skip
    lines = []
    for case, r in found.items():
        lines.append(f"\n**{case}** (`{r['url']}`)\n\n| part | ms |\n|---|---:|")
        lines += [f"| database: {k} | {v} |" for k, v in r["database_ms"].items()]
        lines += [f"| python: {k} | {v} |" for k, v in r["python_ms"].items()]
    title = (f"Costs of one page, best of {args.runs}, {args.events} events "
             f"(`python -m bench.costs --events {args.events}`)")  # fmt: skip
    write_results("costs", {"events": args.events, "cases": found}, title + "\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
