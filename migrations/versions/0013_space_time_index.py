"""space-time index: each event's place and span as one 3-D box, so a bbox + window page
can read its matches a slice of time at a time, in time order (app.store.queries.slices).

- ``event_space_time(geom, during)``: the span as a segment at the event's point, time in
  days since 1970 as the third coordinate. An N-D GiST index over it answers "in this box
  and overlapping these days" in one descent, where the 2-D index on (geom, during) sorts
  its tree by place and has to visit every match of the box to find a day's.
- ``ix_events_space_time`` and ``ix_event_revisions_space_time``: that index on the live
  events and on every version (``as_of`` reads slice the versions the same way).
- ``box_read_plainly(box, page_rows, most)``: whether the planner's statistics say that
  the box holds a share ``most`` of the live events or more, or no more events in all than
  the page asks for: then the page's plain statement is cheap (a walk of the time index, or a
  handful of matches) and runs instead of the slices. False when there are no statistics.

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

READ_PLAINLY = """
CREATE FUNCTION box_read_plainly(box geometry, page_rows integer, most float8) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path FROM CURRENT AS $$
DECLARE
    share float8;
    live float8;
BEGIN
    share := _postgis_selectivity('events'::regclass, 'geom', box);
    live := (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'events'::regclass);
    RETURN share >= most OR share * live <= page_rows;
EXCEPTION WHEN OTHERS THEN  -- no statistics before the first ANALYZE
    RETURN false;
END
$$
"""

INDEXES = {"ix_events_space_time": "events", "ix_event_revisions_space_time": "event_revisions"}


def upgrade() -> None:
    op.execute(SPACE_TIME)
    op.execute(READ_PLAINLY)
    for name, table in INDEXES.items():
        op.execute(
            f"CREATE INDEX {name} ON {table} USING gist "
            "(event_space_time(geom, during) gist_geometry_ops_nd)"
        )


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP FUNCTION box_read_plainly(geometry, integer, float8)")
    op.execute("DROP FUNCTION event_space_time(geometry, tstzrange)")
