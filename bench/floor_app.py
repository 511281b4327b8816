"""The floor: a bare ASGI app over asyncpg returning ONE statement's FeatureCollection text.

    DATABASE_URL=postgresql://… uvicorn bench.floor_app:app --workers 2

It understands the workload's `bbox`, `datetime` (start/end instants) and `limit` (absent:
every match) on any path, and builds the same Features as Frontline (properties, place,
compact citations) so the bodies compare, on the same schema with the same physical design
(the citation count column, the longest-span bound on `occurred_at`): what is left between
it and Frontline is the application. `statement()` is also what pgbench runs.
"""

import os
from datetime import datetime
from urllib.parse import parse_qs

import asyncpg

WORLD = ("-180", "-90", "180", "90")
SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features',
       coalesce(json_agg(f.feature ORDER BY f.occurred_at, f.id), '[]'))::text
FROM (SELECT e.id, e.occurred_at, json_build_object('type', 'Feature', 'id', e.id,
        'geometry', ST_AsGeoJSON(e.geom, 6)::json, 'properties', json_build_object(
        'title', e.title, 'description', e.description, 'event_type', e.event_type,
        'sub_event_type', e.sub_event_type, 'actors', e.actors, 'fatalities', e.fatalities,
        'occurred_at', e.occurred_at, 'occurred_until', e.occurred_until,
        'time_precision', e.time_precision, 'place_id', e.place_id, 'place_slug', p.slug,
        'place_name', p.name, 'location_precision', e.location_precision,
        'verification', e.verification,
        'source_count', e.source_count,
        'citations', (SELECT coalesce(json_agg(json_build_object('source', s.slug, 'stance',
            es.stance) ORDER BY es.published_at NULLS LAST, es.id), '[]')
            FROM event_sources es JOIN sources s ON s.id = es.source_id
            WHERE es.event_id = e.id),
        'tags', e.tags, 'dataset', e.dataset, 'external_id', e.external_id,
        'version', e.version, 'created_at', e.created_at, 'updated_at', e.updated_at,
        'deleted_at', e.deleted_at)) AS feature
      FROM events e LEFT JOIN places p ON p.id = e.place_id
      WHERE e.deleted_at IS NULL AND e.geom && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326)
        AND e.during && tstzrange({t0}, {t1}, '[]')
        AND e.occurred_at >= earliest_start_covering({t0}) AND e.occurred_at <= {t1}
      ORDER BY e.occurred_at, e.id LIMIT {limit}) f
"""


def statement(**slots: str) -> str:
    """The statement with its slots filled: parameters for asyncpg, variables for pgbench."""
    return SQL.format(**slots)


PREPARED = statement(x0="$1", y0="$2", x1="$3", y1="$4", t0="$5::timestamptz",
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
