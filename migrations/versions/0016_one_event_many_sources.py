"""One event, many sources: merges, corroboration and the matcher's tolerances.

- ``events.merged_into``: a merged event is a tombstone (``deleted_at`` set) that names the
  event it was merged into; its row keeps its dataset, external id, fields and citations, so a
  merge loses nothing and ``unmerge`` can restore it. ``event_survivor(id)`` follows the chain
  to the live event.
- ``event_sources.merged_from``: a citation copied into a survivor names the event it came
  from (unmerge removes exactly those).
- ``event_merges``: one row per merge, with what it added to the survivor's actors and tags.
- ``derived_verification(stances, sources, kinds)``: the rule of app.domain.provenance, now
  with ``corroborated`` (two independent source organisations, one of them an observer).
- ``match_window`` / ``match_radius_m`` / ``event_type_family``: how far in time and space a
  candidate may be, by precision (app.store.queries.matches); ``pg_trgm`` for title similarity;
  two partial GiST indexes over the coarse events (a coarse date at a fine place; a coarse
  place), keyed by the window each may match in.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFICATIONS = "'unverified', 'claimed', 'disputed', 'corroborated', 'confirmed', 'refuted'"
OPERATIONS = "'create', 'update', 'delete', 'restore', 'merge', 'unmerge'"

DERIVED_VERIFICATION = """
CREATE FUNCTION derived_verification(stances text[], sources bigint[], kinds text[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN stances && ARRAY['denies', 'disputes'] THEN
            CASE WHEN stances && ARRAY['reports', 'claims', 'confirms']
                 THEN 'disputed' ELSE 'refuted' END
        WHEN 'confirms' = ANY(stances) THEN 'confirmed'
        WHEN (SELECT count(DISTINCT c.source) >= 2
                     AND bool_or(c.kind IN ('osint', 'research', 'media'))
              FROM unnest(stances, sources, kinds) AS c(stance, source, kind)
              WHERE c.stance IN ('reports', 'claims', 'confirms')) THEN 'corroborated'
        WHEN 'claims' = ANY(stances) THEN 'claimed'
        ELSE 'unverified'
    END
$$
"""
OLD_DERIVED_VERIFICATION = """
CREATE FUNCTION derived_verification(stances text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN stances && ARRAY['denies', 'disputes'] THEN
            CASE WHEN stances && ARRAY['reports', 'claims', 'confirms']
                 THEN 'disputed' ELSE 'refuted' END
        WHEN 'confirms' = ANY(stances) THEN 'confirmed'
        WHEN 'claims' = ANY(stances) THEN 'claimed'
        ELSE 'unverified'
    END
$$
"""
# Each event's verification under the new rule (the triggers rebuild the changed Features).
REDERIVE = """
UPDATE events e SET verification = d.verification
FROM (SELECT es.event_id, derived_verification(array_agg(es.stance), array_agg(es.source_id),
                                               array_agg(s.kind)) AS verification
      FROM event_sources es JOIN sources s ON s.id = es.source_id GROUP BY es.event_id) d
WHERE d.event_id = e.id AND NOT e.verification_explicit AND e.verification <> d.verification
"""
SURVIVOR = """
CREATE FUNCTION event_survivor(event_id bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH RECURSIVE chain(id, next, depth) AS (
        SELECT id, merged_into, 0 FROM events WHERE id = event_id
        UNION ALL
        SELECT e.id, e.merged_into, c.depth + 1 FROM chain c JOIN events e ON e.id = c.next
        WHERE c.depth < 1000
    )
    SELECT id FROM chain WHERE next IS NULL
$$
"""
# The span an event may really have covered, given its time precision: a day-precision event
# is anything that day (UTC), a minute-precision one the minute give or take an hour. One
# expression with no FROM and no SET, so PostgreSQL inlines it (an index is built on it, and
# the matcher evaluates it for every candidate).
_UNIT = "CASE WHEN time_precision IN ('week', 'month', 'year') THEN time_precision ELSE 'day' END"
_ONE_UNIT = (
    "CASE time_precision WHEN 'week' THEN interval '1 week' WHEN 'month' THEN interval '1 month' "
    "WHEN 'year' THEN interval '1 year' ELSE interval '1 day' END"
)
MATCH_WINDOW = f"""
CREATE FUNCTION match_window(during tstzrange, time_precision text) RETURNS tstzrange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE time_precision
        WHEN 'minute' THEN tstzrange(lower(during) - interval '1 hour',
                                     upper(during) + interval '1 hour')
        WHEN 'hour' THEN tstzrange(lower(during) - interval '3 hours',
                                   upper(during) + interval '3 hours')
        ELSE tstzrange(
            timezone('UTC', date_trunc({_UNIT}, timezone('UTC', lower(during)))),
            timezone('UTC', date_trunc({_UNIT}, timezone('UTC', greatest(
                lower(during), upper(during) - interval '1 microsecond'))) + {_ONE_UNIT}))
    END
$$
"""
# How far apart two reports of one happening may put it, given the coarser precision.
MATCH_RADIUS = """
CREATE FUNCTION match_radius_m(location_precision text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE location_precision
        WHEN 'exact' THEN 2000 WHEN 'near' THEN 5000 WHEN 'settlement' THEN 10000
        WHEN 'district' THEN 40000 WHEN 'region' THEN 250000 ELSE 1000000
    END::float8
$$
"""
TYPE_FAMILY = """
CREATE FUNCTION event_type_family(event_type text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN event_type IN ('shelling', 'airstrike', 'missile_strike', 'drone_strike',
                            'explosion') THEN 'strike'
        WHEN event_type IN ('battle', 'ground_operation', 'incursion', 'territorial_change')
             THEN 'ground'
        ELSE event_type
    END
$$
"""
# Events whose own window or radius is wider than any fine event's, by the window they may
# match in: the matcher's second probe finds them by exactly that window (app.store.queries.
# matches), however long it is.
COARSE_TIME_AT_FINE_PLACE = (
    "time_precision IN ('week', 'month', 'year') "
    "AND location_precision IN ('exact', 'near', 'settlement')"
)
COARSE_PLACE = "location_precision IN ('district', 'region', 'country')"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    _vocabularies(VERIFICATIONS, OPERATIONS)
    op.execute("ALTER TABLE events ADD COLUMN merged_into bigint")
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT fk_events_merged_into_events "
        "FOREIGN KEY (merged_into) REFERENCES events (id) ON DELETE RESTRICT"
    )
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT ck_events_merged_is_tombstone CHECK "
        "(merged_into IS NULL OR (deleted_at IS NOT NULL AND merged_into <> id))"
    )
    op.execute(
        "CREATE INDEX ix_events_merged_into ON events (merged_into) "
        "WHERE merged_into IS NOT NULL"
    )
    op.execute("ALTER TABLE event_sources ADD COLUMN merged_from bigint")
    op.execute(
        "ALTER TABLE event_sources ADD CONSTRAINT fk_event_sources_merged_from_events "
        "FOREIGN KEY (merged_from) REFERENCES events (id) ON DELETE CASCADE"
    )
    op.execute(
        "CREATE INDEX ix_event_sources_merged_from ON event_sources (merged_from) "
        "WHERE merged_from IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE event_merges (
            id bigserial NOT NULL,
            survivor_id bigint NOT NULL,
            merged_id bigint NOT NULL,
            merged_at timestamptz DEFAULT now() NOT NULL,
            merged_by text NOT NULL,
            added_actors text[] NOT NULL,
            added_tags text[] NOT NULL,
            unmerged_at timestamptz,
            unmerged_by text,
            CONSTRAINT pk_event_merges PRIMARY KEY (id),
            CONSTRAINT fk_event_merges_survivor_id_events FOREIGN KEY (survivor_id)
                REFERENCES events (id) ON DELETE CASCADE,
            CONSTRAINT fk_event_merges_merged_id_events FOREIGN KEY (merged_id)
                REFERENCES events (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX ix_event_merges_merged_id ON event_merges (merged_id)")
    op.execute("CREATE INDEX ix_event_merges_survivor_id ON event_merges (survivor_id)")
    for function in (SURVIVOR, MATCH_WINDOW, MATCH_RADIUS, TYPE_FAMILY):
        op.execute(function)
    for name, where in (("time", COARSE_TIME_AT_FINE_PLACE), ("place", COARSE_PLACE)):
        op.execute(
            f"CREATE INDEX ix_events_coarse_{name} ON events USING gist "
            f"(geom, match_window(during, time_precision)) WHERE {where}"
        )
    op.execute("DROP FUNCTION derived_verification(text[])")
    op.execute(DERIVED_VERIFICATION)
    op.execute(REDERIVE)


def downgrade() -> None:
    op.execute(
        "UPDATE events SET verification = 'unverified' WHERE verification = 'corroborated'"
    )
    op.execute(
        "UPDATE event_revisions SET operation = 'update' WHERE operation IN ('merge', 'unmerge')"
    )
    for name in ("time", "place"):  # before match_window, which they are built on
        op.execute(f"DROP INDEX ix_events_coarse_{name}")
    op.execute("DROP FUNCTION derived_verification(text[], bigint[], text[])")
    op.execute(OLD_DERIVED_VERIFICATION)
    for function in ("event_type_family(text)", "match_radius_m(text)",
                     "match_window(tstzrange, text)", "event_survivor(bigint)"):  # fmt: skip
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP TABLE event_merges")
    op.execute("DROP INDEX ix_event_sources_merged_from")
    op.execute("ALTER TABLE event_sources DROP COLUMN merged_from")
    op.execute("DROP INDEX ix_events_merged_into")
    op.execute("ALTER TABLE events DROP COLUMN merged_into")
    _vocabularies(VERIFICATIONS.replace(", 'corroborated'", ""),
                  OPERATIONS.replace(", 'merge', 'unmerge'", ""))  # fmt: skip


def _vocabularies(verifications: str, operations: str) -> None:
    op.execute("ALTER TABLE events DROP CONSTRAINT ck_events_verification_allowed")
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT ck_events_verification_allowed "
        f"CHECK (verification IN ({verifications}))"
    )
    op.execute("ALTER TABLE event_revisions DROP CONSTRAINT ck_event_revisions_operation_allowed")
    op.execute(
        "ALTER TABLE event_revisions ADD CONSTRAINT ck_event_revisions_operation_allowed "
        f"CHECK (operation IN ({operations}))"
    )
