"""The naive schema: what a first design would store, for the floor Frontline's must beat.

One table `naive_events` holding every property of a Feature (place and citations
denormalised into it), a GiST index on the point and a B-tree on the time, filled from the
bench database's events. Its statement builds the same FeatureCollection in one go with the
obvious time test (`occurred_at <= end AND coalesce(occurred_until, occurred_at) >= start`).
bench.compare runs it through pgbench next to Frontline's own schema.
"""

import asyncpg

TABLE = """
CREATE TABLE naive_events AS
SELECT e.id, e.geom, e.title, e.description, e.event_type, e.sub_event_type, e.actors,
       e.fatalities, e.occurred_at, e.occurred_until, e.time_precision, e.place_id,
       p.slug AS place_slug, p.name AS place_name, e.location_precision, e.verification,
       (SELECT count(*) FROM event_sources es WHERE es.event_id = e.id) AS source_count,
       (SELECT coalesce(json_agg(json_build_object('source', s.slug, 'stance', es.stance)
                                 ORDER BY es.published_at NULLS LAST, es.id), '[]')
        FROM event_sources es JOIN sources s ON s.id = es.source_id
        WHERE es.event_id = e.id) AS citations,
       e.tags, e.dataset, e.external_id, e.version, e.created_at, e.updated_at
FROM events e LEFT JOIN places p ON p.id = e.place_id
WHERE e.deleted_at IS NULL
ORDER BY e.occurred_at, e.id
"""
INDEXES = [
    "ALTER TABLE naive_events ADD PRIMARY KEY (id)",
    "CREATE INDEX ON naive_events USING gist (geom)",
    "CREATE INDEX ON naive_events (occurred_at)",
    "VACUUM ANALYZE naive_events",
]
SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features',
       coalesce(json_agg(f.feature ORDER BY f.occurred_at, f.id), '[]'))::text
FROM (SELECT n.id, n.occurred_at, json_build_object('type', 'Feature', 'id', n.id,
        'geometry', ST_AsGeoJSON(n.geom, 6)::json, 'properties', json_build_object(
        'title', n.title, 'description', n.description, 'event_type', n.event_type,
        'sub_event_type', n.sub_event_type, 'actors', n.actors, 'fatalities', n.fatalities,
        'occurred_at', n.occurred_at, 'occurred_until', n.occurred_until,
        'time_precision', n.time_precision, 'place_id', n.place_id,
        'place_slug', n.place_slug, 'place_name', n.place_name,
        'location_precision', n.location_precision, 'verification', n.verification,
        'source_count', n.source_count, 'citations', n.citations, 'tags', n.tags,
        'dataset', n.dataset, 'external_id', n.external_id, 'version', n.version,
        'created_at', n.created_at, 'updated_at', n.updated_at, 'deleted_at', NULL))
        AS feature
      FROM naive_events n
      WHERE n.geom && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326)
        AND n.occurred_at <= {t1} AND coalesce(n.occurred_until, n.occurred_at) >= {t0}
      ORDER BY n.occurred_at, n.id LIMIT {limit}) f
"""


def statement(**slots: str) -> str:
    return SQL.format(**slots)


async def ensure_table(dsn: str) -> None:
    """Build naive_events once per loaded database (the load's marker says which)."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('naive_events') IS NOT NULL"):
            return
        async with conn.transaction():
            await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            await conn.execute(TABLE)
            for statement_ in INDEXES[:-1]:
                await conn.execute(statement_)
        await conn.execute(INDEXES[-1])
    finally:
        await conn.close()
