"""event_revisions as a system-versioned history: each revision knows when it was current.

``as_of`` used to rebuild every event and citation from the JSON snapshots in common table
expressions (``DISTINCT ON`` over all history), so no index could serve a filter and a page
of 1 000 Features over ~2 000 imported events took 5.7 s. Each revision row now carries:

- ``superseded_at``: when the next version replaced it (NULL while it is the current one),
  and ``valid = [changed_at, superseded_at)`` as a stored column. A statement trigger closes
  the superseded rows in the transaction that inserts a revision, whoever inserts it (API,
  imports, seeds, feeds, plain SQL). An older version's end is the earliest start of any
  newer version, but never before its own start, so exactly one version is valid at any
  instant after the first: the latest one recorded at or before it, as before.
- The event's columns at that version (geometry, span, type, verification, place, dataset…)
  and its Feature text, copied from the events row by the write path; rows that existed
  before this migration get theirs from the snapshot (``revision_feature_text``).
- A GiST index on ``(geom, during, valid)`` and a B-tree on ``(occurred_at, event_id)``, the
  same two access paths a live page has, so an ``as_of`` page filters the past exactly as a
  live page filters the present.

The snapshot stays the record of each version (history diffs read it, and its citations are
the citations as of then).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DURING = (
    "CASE WHEN occurred_until IS NULL OR occurred_until = occurred_at "
    "THEN tstzrange(occurred_at, occurred_at, '[]') "
    "ELSE tstzrange(occurred_at, occurred_until, '[)') END"
)
# (column, type, NOT NULL): the event's columns each revision keeps.
COLUMNS = [
    ("dataset", "varchar(64)", True),
    ("external_id", "varchar(200)", False),
    ("title", "text", True),
    ("description", "text", False),
    ("event_type", "varchar(32)", True),
    ("sub_event_type", "text", False),
    ("actors", "text[]", True),
    ("fatalities", "integer", False),
    ("occurred_at", "timestamptz", True),
    ("occurred_until", "timestamptz", False),
    ("time_precision", "varchar(8)", True),
    ("place_id", "bigint", False),
    ("geom", "geometry(POINT,4326)", True),
    ("location_precision", "varchar(12)", True),
    ("verification", "varchar(12)", True),
    ("verification_explicit", "boolean", True),
    ("source_count", "integer", True),
    ("tags", "text[]", True),
    ("created_at", "timestamptz", True),
    ("updated_at", "timestamptz", True),
    ("deleted_at", "timestamptz", False),
    ("feature", "text", True),
]

# The snapshot holds everything but the geometry's column form, the citation count and the
# Feature text (migration 0003's shape): unpack it column by column.
BACKFILL = """
UPDATE event_revisions r SET
    dataset = s->>'dataset', external_id = s->>'external_id', title = s->>'title',
    description = s->>'description', event_type = s->>'event_type',
    sub_event_type = s->>'sub_event_type',
    actors = ARRAY(SELECT jsonb_array_elements_text(s->'actors')),
    fatalities = (s->>'fatalities')::int,
    occurred_at = (s->>'occurred_at')::timestamptz,
    occurred_until = (s->>'occurred_until')::timestamptz,
    time_precision = s->>'time_precision', place_id = (s->>'place_id')::bigint,
    geom = ST_SetSRID(ST_GeomFromGeoJSON(s->'geometry'), 4326),
    location_precision = s->>'location_precision', verification = s->>'verification',
    verification_explicit = COALESCE((s->>'verification_explicit')::boolean, true),
    source_count = jsonb_array_length(s->'citations'),
    tags = ARRAY(SELECT jsonb_array_elements_text(s->'tags')),
    created_at = (s->>'created_at')::timestamptz, updated_at = (s->>'updated_at')::timestamptz,
    deleted_at = (s->>'deleted_at')::timestamptz
FROM (SELECT id, snapshot AS s FROM event_revisions) x
WHERE x.id = r.id
"""
# An older version ends where the earliest newer one starts, but never before it began.
SUPERSEDE_ALL = """
UPDATE event_revisions r SET superseded_at = greatest(n.next_at, r.changed_at)
FROM (
    SELECT id, min(changed_at) OVER (PARTITION BY event_id ORDER BY version
                                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_at
    FROM event_revisions
) n
WHERE n.id = r.id AND n.next_at IS NOT NULL
"""

# The Feature of a version, as event_feature_text (0009) builds a live one, with the
# citations of the version's snapshot (in citation order, as the live ones are by id).
REVISION_FEATURE = """
CREATE FUNCTION revision_feature_text(r event_revisions) RETURNS text
LANGUAGE sql STABLE SET "TimeZone" = 'UTC' AS $$
SELECT concat(
    '{"type":"Feature","id":', r.event_id, ',"geometry":', ST_AsGeoJSON(r.geom, 6),
    ',"properties":', json_build_object(
        'title', r.title, 'description', r.description, 'event_type', r.event_type,
        'sub_event_type', r.sub_event_type, 'actors', r.actors, 'fatalities', r.fatalities,
        'occurred_at', r.occurred_at, 'occurred_until', r.occurred_until,
        'time_precision', r.time_precision, 'place_id', r.place_id,
        'place_slug', p.slug, 'place_name', p.name,
        'location_precision', r.location_precision, 'verification', r.verification,
        'source_count', r.source_count,
        'citations', (
            SELECT coalesce(json_agg(json_build_object('source', c.item->>'source',
                                                       'stance', c.item->>'stance')
                                     ORDER BY (c.item->>'published_at')::timestamptz
                                              ASC NULLS LAST, c.n),
                            json_build_array())
            FROM jsonb_array_elements(r.snapshot->'citations') WITH ORDINALITY AS c(item, n)),
        'tags', r.tags, 'dataset', r.dataset, 'external_id', r.external_id,
        'version', r.version, 'created_at', r.created_at, 'updated_at', r.updated_at,
        'deleted_at', r.deleted_at),
    '}')
FROM (VALUES (1)) AS one LEFT JOIN places p ON p.id = r.place_id
$$
"""

# Closes what the inserted revisions supersede. OFFSET 0 keeps the lookup of each event's
# older versions a per-row index probe: new_rows has no statistics, and a bulk import of
# new events must not hash the whole history to find that nothing precedes them.
SUPERSEDE = """
CREATE FUNCTION event_revisions_supersede() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_revisions r SET superseded_at = cut.at
    FROM (
        SELECT older.id, min(greatest(n.changed_at, older.changed_at)) AS at
        FROM new_rows n
        CROSS JOIN LATERAL (
            SELECT o.id, o.changed_at FROM event_revisions o
            WHERE o.event_id = n.event_id AND o.version < n.version
              AND (o.superseded_at IS NULL OR o.superseded_at > n.changed_at)
            OFFSET 0
        ) older
        GROUP BY older.id
    ) cut
    WHERE r.id = cut.id AND (r.superseded_at IS NULL OR r.superseded_at > cut.at);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(
        "ALTER TABLE event_revisions ADD COLUMN superseded_at timestamptz, "
        + ", ".join(f"ADD COLUMN {name} {kind}" for name, kind, _ in COLUMNS)
    )
    op.execute(BACKFILL)
    op.execute(SUPERSEDE_ALL)
    op.execute(REVISION_FEATURE)
    op.execute("UPDATE event_revisions r SET feature = revision_feature_text(r)")
    op.execute(
        "ALTER TABLE event_revisions "
        f"ADD COLUMN during tstzrange GENERATED ALWAYS AS ({DURING}) STORED, "
        "ADD COLUMN valid tstzrange GENERATED ALWAYS AS "
        "(tstzrange(changed_at, superseded_at, '[)')) STORED, "
        + ", ".join(f"ALTER COLUMN {name} SET NOT NULL" for name, _, required in COLUMNS
                    if required)  # fmt: skip
    )
    op.execute(
        "CREATE INDEX ix_event_revisions_gist ON event_revisions "
        "USING gist (geom, during, valid)"
    )
    op.execute(
        "CREATE INDEX ix_event_revisions_occurred_at_event_id ON event_revisions "
        "(occurred_at, event_id)"
    )
    op.execute(SUPERSEDE)
    op.execute(
        "CREATE TRIGGER event_revisions_supersede AFTER INSERT ON event_revisions "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION event_revisions_supersede()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_revisions_supersede ON event_revisions")
    op.execute("DROP FUNCTION event_revisions_supersede()")
    op.execute("DROP FUNCTION revision_feature_text(event_revisions)")
    op.execute("DROP INDEX ix_event_revisions_occurred_at_event_id")
    op.execute("DROP INDEX ix_event_revisions_gist")
    op.execute(
        "ALTER TABLE event_revisions DROP COLUMN valid, DROP COLUMN during, "
        "DROP COLUMN superseded_at, "
        + ", ".join(f"DROP COLUMN {name}" for name, _, _ in COLUMNS)
    )
