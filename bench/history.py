"""The generated events' history: a revision per version, as the write path would have left it.

Most events have one version; a quarter were edited (``synthetic.versions``): a first report
without fatalities and unverified, later citations and counts, now and then a corrected point,
a deletion later undone, and the events deleted for good. Revision j of an event is recorded
9 hours after revision j - 1, the last one at the event's ``updated_at``, so ``as_of`` at a
past instant reads a real mix of versions. Written set-based after the events' Feature texts
(the last version's text is the event's; older ones are built by ``revision_feature_text``).
"""

import asyncpg

from bench.synthetic import VERSION_GAP_HOURS

_COLUMNS = (
    "dataset, external_id, title, description, event_type, sub_event_type, actors, "
    "occurred_at, occurred_until, time_precision, place_id, location_precision, "
    "verification_explicit, tags, created_at"
)
_FROM_EVENT = "e." + _COLUMNS.replace(", ", ", e.")
# One row per version j of each event; `last` is the event as it is now.
_INSERT = f"""
INSERT INTO event_revisions (event_id, version, changed_by, operation, snapshot, changed_at,
                             superseded_at, {_COLUMNS}, fatalities, geom, verification,
                             source_count, updated_at, deleted_at, feature)
SELECT e.id, v.j, 'bench', v.operation,
       (to_jsonb(e) - 'during' - 'geom' - 'source_count' - 'feature')
       || jsonb_build_object('version', v.j, 'updated_at', v.changed_at,
                             'fatalities', v.fatalities, 'verification', v.verification,
                             'deleted_at', v.deleted_at,
                             'geometry', ST_AsGeoJSON(v.geom, 6)::jsonb,
                             'citations', COALESCE(to_jsonb(c.items[1:v.cited]), '[]'::jsonb)),
       v.changed_at, v.superseded_at, {_FROM_EVENT},
       v.fatalities, v.geom, v.verification, v.cited, v.changed_at, v.deleted_at, e.feature
FROM events e
CROSS JOIN LATERAL (
    SELECT array_agg(jsonb_build_object('source', s.slug, 'stance', es.stance, 'url', es.url,
                                        'published_at', es.published_at,
                                        'excerpt', es.excerpt) ORDER BY es.id) AS items
    FROM event_sources es JOIN sources s ON s.id = es.source_id WHERE es.event_id = e.id
) c
CROSS JOIN LATERAL (
    SELECT j, j = e.version AS last,
           e.created_at + (j - 1) * interval '{VERSION_GAP_HOURS} hours' AS changed_at,
           CASE WHEN j < e.version
                THEN e.created_at + j * interval '{VERSION_GAP_HOURS} hours' END AS superseded_at,
           -- every fifth event of three versions or more was deleted once and restored
           (e.version >= 3 AND e.id % 5 = 0 AND j = e.version - 1) AS undone,
           (e.version >= 3 AND e.id % 5 = 0 AND j = e.version) AS restored
    FROM generate_series(1, e.version) AS j
) s
CROSS JOIN LATERAL (
    SELECT s.j, s.changed_at, s.superseded_at,
           CASE WHEN s.j = 1 THEN 'create' WHEN s.undone THEN 'delete'
                WHEN s.restored THEN 'restore'
                WHEN s.last AND e.deleted_at IS NOT NULL THEN 'delete' ELSE 'update' END
               AS operation,
           CASE WHEN s.last OR e.fatalities IS NULL THEN e.fatalities WHEN s.j = 1 THEN NULL
                ELSE greatest(e.fatalities - (e.version - s.j), 0) END AS fatalities,
           CASE WHEN s.j = 1 AND NOT s.last THEN 'unverified' ELSE e.verification END
               AS verification,
           -- the first of four or more reports placed it 1 km off
           CASE WHEN s.j = 1 AND e.version >= 4 THEN ST_Translate(e.geom, 0.01, 0.005)
                ELSE e.geom END AS geom,
           greatest(1, e.source_count - (e.version - s.j))::int AS cited,
           CASE WHEN s.last THEN e.deleted_at WHEN s.undone THEN s.changed_at END AS deleted_at
) v
WHERE e.dataset = 'bench'  -- the seeds wrote their own history
"""
_OLDER_FEATURES = (
    "UPDATE event_revisions r SET feature = revision_feature_text(r) "
    "WHERE r.superseded_at IS NOT NULL"
)
SUPERSEDE_TRIGGER = "event_revisions_supersede"  # migration 0011


async def store_in_written_order(conn: asyncpg.Connection) -> None:
    """Rewrite the revisions in the order the write path would have appended them (time of
    change): written event by event and then updated, the older versions ended up at the
    table's end and the rest in event order (correlation with time 0.58), which neither
    the write path nor an import leaves behind. Run with the table's secondary indexes
    dropped (CLUSTER rebuilds those that remain)."""
    await conn.execute("CREATE INDEX bench_written_order ON event_revisions (changed_at, id)")
    await conn.execute("CLUSTER event_revisions USING bench_written_order")
    await conn.execute("DROP INDEX bench_written_order")


async def write_history(conn: asyncpg.Connection) -> None:
    """Every version of every event, in one transaction (validity set here, not by trigger)."""
    async with conn.transaction():
        await conn.execute(f"ALTER TABLE event_revisions DISABLE TRIGGER {SUPERSEDE_TRIGGER}")
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute(_INSERT)
        await conn.execute(_OLDER_FEATURES)
        await conn.execute(f"ALTER TABLE event_revisions ENABLE TRIGGER {SUPERSEDE_TRIGGER}")
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('event_revisions', 'id'),"
            " (SELECT max(id) FROM event_revisions))"
        )
