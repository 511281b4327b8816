"""The floor: a bare ASGI app over asyncpg returning ONE statement's FeatureCollection text.

    DATABASE_URL=postgresql://… [FLOOR_TABLE=naive] uvicorn bench.floor_app:app --workers 2

It understands the workload's `bbox`, `datetime` (start/end instants) and `limit` (absent:
every match) on any path, and joins the same stored Feature texts as Frontline, on the same
schema with the same physical design (the Feature text and citation count columns, the
longest-span bound on `occurred_at`): what is left between it and Frontline is the
application. `statement()` is also what pgbench runs.
"""

import os
from datetime import datetime
from urllib.parse import parse_qs

import asyncpg

from bench import naive

WORLD = ("-180", "-90", "180", "90")
SQL = """
SELECT concat('{{"type":"FeatureCollection","features":[',
              string_agg(f.feature, ',' ORDER BY f.occurred_at, f.id), ']}}')
FROM (SELECT e.id, e.occurred_at, e.feature
      FROM events e
      WHERE e.deleted_at IS NULL AND e.geom && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326)
        AND e.during && tstzrange({t0}, {t1}, '[]')
        AND e.occurred_at >= earliest_start_covering({t0}) AND e.occurred_at <= {t1}
      ORDER BY e.occurred_at, e.id LIMIT {limit}) f
"""


def statement(**slots: str) -> str:
    """The statement with its slots filled: parameters for asyncpg, variables for pgbench."""
    return SQL.format(**slots)


# FLOOR_TABLE=naive: the same thin app over the naive table (bench.naive's statement).
BUILD = naive.statement if os.environ.get("FLOOR_TABLE") == "naive" else statement
PREPARED = BUILD(x0="$1", y0="$2", x1="$3", y1="$4", t0="$5::timestamptz",
                 t1="$6::timestamptz", limit="$7::int")  # fmt: skip
pool: asyncpg.Pool | None = None


async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
    global pool
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            if message["type"] == "lifespan.startup":
                # Custom plans, as Frontline's connections have: a generic plan of this
                # statement cannot use the span bound and walks the time index.
                settings = {"plan_cache_mode": "force_custom_plan", "jit": "off"}
                pool = await asyncpg.create_pool(
                    os.environ["DATABASE_URL"], min_size=4, max_size=8, server_settings=settings
                )
                await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    x0, y0, x1, y1 = (float(v) for v in query.get("bbox", ",".join(WORLD)).split(","))
    start, end = (datetime.fromisoformat(v) for v in query["datetime"].split("/"))
    limit = int(query["limit"]) if "limit" in query else None
    assert pool is not None
    body = (await pool.fetchval(PREPARED, x0, y0, x1, y1, start, end, limit)).encode()
    headers = [(b"content-type", b"application/geo+json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
