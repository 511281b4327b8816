"""Where the database time goes: EXPLAIN (ANALYZE, BUFFERS) of Frontline's statement per case.

    .venv/bin/python -m bench.explain --events 1000000 [--cases small,medium]

For the first query of each case, Frontline's statement (built by app.store.queries, names resolved
as the API does, compiled with literal values) runs under EXPLAIN three times (the fastest is
reported), next to the same statement with a fence that makes PostgreSQL filter with the GiST
index before sorting, and with a literal lower bound on occurred_at (the start minus the
longest span stored: the experiment behind migration 0007; Frontline's statement now
carries the same bound through earliest_start_covering(), so the two should match).
Results: bench/results/explain.{json,md}; the full plans are in the JSON.
"""

import argparse
import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql

from app.domain.filters import BBox, EventFilter, Interval, Page
from app.services.reads import resolve_filter
from app.settings import Settings
from app.store.engine import make_engine
from app.store.queries import events as event_sql
from bench import generate, workload
from bench.common import write_results
from bench.workload import Query


async def frontline_sql(url: str, q: Query) -> str:
    """Frontline's statement for a query, as the API builds it, with literal values."""
    f = EventFilter(
        bbox=BBox(*q.bbox) if q.bbox else None, interval=Interval(q.start, q.end, True),
        place=q.place, within=q.within, near=q.near,
        radius_m=q.radius_km * 1000 if q.radius_km else None,
    )  # fmt: skip
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        f = await resolve_filter(engine, f)
    finally:
        await engine.dispose()
    build = event_sql.events_csv_page if q.fmt == "csv" else event_sql.events_page
    stmt = build(f, Page(limit=q.limit or 1))
    if q.limit is None:
        stmt = stmt.limit(None)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


MAIN_FROM, WHERE = "\nFROM events", "\nWHERE "
# The join of the statements that build each Feature from the row and its place (before
# migration 0010 every page's; bench.costs cuts those down part by part).
JOIN = "FROM events LEFT OUTER JOIN places ON places.id = events.place_id \nWHERE "


def variants(sql: str, max_span: timedelta, start: str) -> dict[str, str]:
    """The statement; filtered through the GiST index before sorting (an OFFSET 0 fence, the
    Features built for the page only); and with a redundant literal lower bound on
    occurred_at (the statement carries the same bound as earliest_start_covering(), so
    this variant only shows what a second, literal copy does to the planner's estimates)."""
    head, tail = sql.rsplit("ORDER BY", 1)
    # The main FROM is the one over events (a CTE for place= and the region subquery of
    # within= read places), and its WHERE is the first after it.
    source_at = head.index(MAIN_FROM) + len("\nFROM ")
    where_at = head.index(WHERE, source_at)
    source, where = head[source_at:where_at], head[where_at + len(WHERE) :]
    select = head[: where_at + len(WHERE)]
    order, _, limit = tail.partition("LIMIT")
    limit = f" LIMIT {limit.strip()}" if limit.strip() else ""
    hits = (f"SELECT id FROM (SELECT events.id, events.occurred_at FROM {source} WHERE {where}"
            f"OFFSET 0) AS hits ORDER BY occurred_at, id{limit}")  # fmt: skip
    bound = f"events.occurred_at >= timestamptz '{start}' - interval '{max_span.days + 1} days'"
    return {
        "frontline": sql,
        "fenced": f"{select}events.id IN ({hits}) ORDER BY{order}{limit}",
        "occurred_at_bound": f"{select}{bound} AND {where}ORDER BY{tail}",
    }


async def explain(conn: asyncpg.Connection, sql: str, runs: int = 3) -> dict[str, Any]:
    """The fastest of `runs` warm runs (other work on the machine only ever adds time)."""
    plans = [json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))[0]
             for _ in range(runs)]  # fmt: skip
    top = min(plans, key=lambda plan: plan["Execution Time"])
    root = top["Plan"]
    return {"execution_ms": round(top["Execution Time"], 1),
            "planning_ms": round(top["Planning Time"], 1),
            "rows": root["Actual Rows"], "node": _path(root),
            "buffers": root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0),
            "plan": top}  # fmt: skip


def _path(node: dict[str, Any]) -> str:
    """The chain of first children, e.g. Limit > Sort > Bitmap Heap Scan (filter removed N)."""
    names = []
    while node:
        name = node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else "")
        if removed := node.get("Rows Removed by Filter"):
            name += f" (filter removed {removed})"
        names.append(name)
        # Follow the row source, not the InitPlans/SubPlans (place lookups, citations).
        children = [child for child in node.get("Plans", [])
                    if child.get("Parent Relationship") not in ("InitPlan", "SubPlan")]  # fmt: skip
        node = children[0] if children else None  # type: ignore[assignment]
    return " > ".join(names)


async def run(url: str, cases: dict[str, list[Query]]) -> dict[str, Any]:
    conn = await asyncpg.connect(generate.dsn(url))
    out: dict[str, Any] = {}
    try:
        max_span = await conn.fetchval("SELECT max(upper(during) - lower(during)) FROM events")
        for case, queries in cases.items():
            q = queries[0]
            sql = await frontline_sql(url, q)
            out[case] = {"url": workload.frontline_path(q)}
            for name, text in variants(sql, max_span, q.start.isoformat()).items():
                out[case][name] = await explain(conn, text)
                print(case, name, {k: v for k, v in out[case][name].items() if k != "plan"})
    finally:
        await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", default="small,medium,large,export,within,place,near")
    generate.add_distribution_argument(parser)
    args = parser.parse_args()
    url, data, every = workload.loaded(args.events, args.distribution)
    found = asyncio.run(run(url, {c: every[c] for c in args.cases.split(",")}))
    rows = [f"| {case} | {name} | {r['execution_ms']} | {r['planning_ms']} | {r['rows']} | "
            f"{r['buffers']} | {r['node']} |"
            for case, variants_ in found.items()
            for name, r in variants_.items() if name != "url"]  # fmt: skip
    head = ("| case | statement | execution ms | planning ms | rows | buffers | plan |\n"
            "|---|---|---:|---:|---:|---:|---|")  # fmt: skip
    title = f"EXPLAIN (ANALYZE, BUFFERS), warm, {args.events} events (`python -m bench.explain`)"
    write_results("explain", {"events": args.events, "data": data, "cases": found},
                  f"{title}\n\n{head}\n" + "\n".join(rows))  # fmt: skip


if __name__ == "__main__":
    main()
