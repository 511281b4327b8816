"""space-time index: each event's place and span as one 3-D box, so a bbox + window page
can read its matches a slice of time at a time, in time order (app.store.queries.slices).

- ``event_space_time(geom, during)``: the span as a segment at the event's point, time in
  days since 1970 as the third coordinate. An N-D GiST index over it answers "in this box
  and overlapping these days" in one descent, where the 2-D index on (geom, during) sorts
  its tree by place and has to visit every match of the box to find a day's.
- ``ix_events_space_time`` and ``ix_event_revisions_space_time``: that index on the live
  events and on every version (``as_of`` reads slice the versions the same way).
- ``box_holds_most_events(box)``: whether the planner's statistics say that the box holds
  nine in ten live events or more (then the page walks the time index instead: see the
  module above). False when there are no statistics yet.

Both functions are schema-bound (``SET search_path FROM CURRENT``) so that pg_restore, which
rebuilds the index with an empty search path, finds PostGIS.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Epoch seconds do not depend on the session's time zone, so the function is immutable.
SPACE_TIME = """
CREATE FUNCTION event_space_time(geom geometry, during tstzrange) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT ST_MakeLine(
        ST_MakePoint(ST_X(geom), ST_Y(geom), extract(epoch FROM lower(during)) / 86400.0),
        ST_MakePoint(ST_X(geom), ST_Y(geom), extract(epoch FROM upper(during)) / 86400.0))
$$
"""

HOLDS_MOST = """
CREATE FUNCTION box_holds_most_events(box geometry) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path FROM CURRENT AS $$
BEGIN
    RETURN _postgis_selectivity('events'::regclass, 'geom', box) >= 0.9;
EXCEPTION WHEN OTHERS THEN  -- no statistics before the first ANALYZE
    RETURN false;
END
$$
"""

INDEXES = {"ix_events_space_time": "events", "ix_event_revisions_space_time": "event_revisions"}


def upgrade() -> None:
    op.execute(SPACE_TIME)
    op.execute(HOLDS_MOST)
    for name, table in INDEXES.items():
        op.execute(
            f"CREATE INDEX {name} ON {table} USING gist "
            "(event_space_time(geom, during) gist_geometry_ops_nd)"
        )


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP FUNCTION box_holds_most_events(geometry)")
    op.execute("DROP FUNCTION event_space_time(geometry, tstzrange)")
