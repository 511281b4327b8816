"""events.feature: each event's GeoJSON Feature text, kept by the write path.

A page of 1 000 Features took 10.6 ms to build in the database and 2.3 ms to find; the
properties object and the compact citations are most of it, and a stored text is read with
the row (measured on 1 000 000 events: small pages 51 -> 13 ms for five queries, pages of
10 000 Features 677 -> 105 ms). Pages with every property and no ``as_of`` read it; a chosen
property list, ``as_of`` and a single event's full citations still build the JSON.

- ``event_feature_text(events)`` is the Feature with every public property in output order,
  times in UTC whatever the writer's session says. It must stay equal to
  ``app.store.queries.events.event_feature(None, False)``; tests compare the two after every kind
  of write.
- A BEFORE row trigger recomputes it on every insert and update of an event, whatever the
  columns: the row is in hand, and it cannot go stale.
- What else the Feature shows is touched from its own table (an UPDATE setting ``feature``,
  which the row trigger recomputes): citations whose text changed, places renamed, sources
  whose slug changed. Citations inserted or deleted already update the event's
  ``source_count`` (migration 0008), which fires the row trigger.
- The backfill rewrites every event row once (plan for twice the table size until VACUUM).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEATURE_TEXT = """
CREATE FUNCTION event_feature_text(e events) RETURNS text
LANGUAGE sql STABLE SET "TimeZone" = 'UTC' AS $$
SELECT concat(
    '{"type":"Feature","id":', e.id, ',"geometry":', ST_AsGeoJSON(e.geom, 6),
    ',"properties":', json_build_object(
        'title', e.title, 'description', e.description, 'event_type', e.event_type,
        'sub_event_type', e.sub_event_type, 'actors', e.actors, 'fatalities', e.fatalities,
        'occurred_at', e.occurred_at, 'occurred_until', e.occurred_until,
        'time_precision', e.time_precision, 'place_id', e.place_id,
        'place_slug', p.slug, 'place_name', p.name,
        'location_precision', e.location_precision, 'verification', e.verification,
        'source_count', e.source_count,
        'citations', (
            SELECT coalesce(json_agg(json_build_object('source', s.slug, 'stance', es.stance)
                                     ORDER BY es.published_at ASC NULLS LAST, es.id),
                            json_build_array())
            FROM event_sources es JOIN sources s ON s.id = es.source_id
            WHERE es.event_id = e.id),
        'tags', e.tags, 'dataset', e.dataset, 'external_id', e.external_id,
        'version', e.version, 'created_at', e.created_at, 'updated_at', e.updated_at,
        'deleted_at', e.deleted_at),
    '}')
FROM (VALUES (1)) AS one LEFT JOIN places p ON p.id = e.place_id
$$
"""

ROW_TRIGGER = """
CREATE FUNCTION event_feature_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.feature := event_feature_text(NEW);
    RETURN NEW;
END
$$
"""

# Statement triggers on the tables a Feature quotes: which events to recompute.
TOUCHES = {
    "event_sources": """
        SELECT event_id FROM old_rows UNION SELECT event_id FROM new_rows
    """,
    "places": """
        SELECT e.id FROM events e
        JOIN new_rows n ON n.id = e.place_id JOIN old_rows o ON o.id = n.id
        WHERE (n.slug, n.name) IS DISTINCT FROM (o.slug, o.name)
    """,
    "sources": """
        SELECT es.event_id FROM event_sources es
        JOIN new_rows n ON n.id = es.source_id JOIN old_rows o ON o.id = n.id
        WHERE n.slug IS DISTINCT FROM o.slug
    """,
}


def upgrade() -> None:
    op.execute("ALTER TABLE events ADD COLUMN feature text")
    op.execute(FEATURE_TEXT)
    op.execute(ROW_TRIGGER)
    op.execute("UPDATE events SET feature = event_feature_text(events)")
    op.execute(
        "CREATE TRIGGER events_feature BEFORE INSERT OR UPDATE ON events "
        "FOR EACH ROW EXECUTE FUNCTION event_feature_refresh()"
    )
    for table, changed in TOUCHES.items():
        op.execute(
            f"""
            CREATE FUNCTION {table}_touch_features() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE events SET feature = NULL WHERE id IN ({changed});
                RETURN NULL;
            END
            $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_features AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_touch_features()"
        )


def downgrade() -> None:
    for table in TOUCHES:
        op.execute(f"DROP TRIGGER {table}_features ON {table}")
        op.execute(f"DROP FUNCTION {table}_touch_features()")
    op.execute("DROP TRIGGER events_feature ON events")
    op.execute("DROP FUNCTION event_feature_refresh()")
    op.execute("DROP FUNCTION event_feature_text(events)")
    op.execute("ALTER TABLE events DROP COLUMN feature")
