"""event_tile_cells: event counts per Web Mercator grid cell, kept by triggers on events.

Low-zoom vector tiles count hundreds of thousands of events per cell; this summary holds those
counts ahead of time. A row is one (level, month, cell, event_type, verification) with the
number of live events, their reported fatalities, first/last start and the sums of their
positions (as Web Mercator fractions of the world, 0..1 from the west/north), from which a
tile's cells are summed at read time (app.store.queries.tiles).

- ``level`` is the zoom level of the cell grid: cell (cx, cy) of level L is tile (cx, cy) of
  zoom L, so the 64 x 64 cells of a zoom-z tile are level z + 6 and a coarser grid is the
  finer one's indexes shifted right. All-time rows (``month = '-infinity'``) exist for
  levels 10..15, monthly rows (the UTC month of ``occurred_at``) for levels 10..13; the
  all-time rows are also kept over every type and verification (both ``'*'``), which is what
  an unfiltered tile reads (up to 20 times fewer rows).
- Statement-level triggers with transition tables keep it exact in the writing transaction:
  INSERT, UPDATE (only rows whose position, start, type, verification, fatalities or
  deletion changed) and DELETE; TRUNCATE empties it. Counts and sums are added up; a row that
  lost its first or last event gets them again from ``events`` at the finest levels (a cell
  of ~0.8 km, or ~3 km and one month, at 50°N) and from its four child cells above them.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_TIME_LEVELS = range(10, 16)
MONTHLY_LEVELS = range(10, 14)
MAX_LAT = "85.0511287798066"  # app.geo.tiles.MAX_LAT: events beyond it are in no tile
ANY = "*"  # event_type and verification of the all-time rows over every type and verification

FUNCTIONS = [
    """
CREATE FUNCTION tile_frac_x(lon float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (lon + 180.0::float8) / 360.0::float8 $$
""",
    """
CREATE FUNCTION tile_frac_y(lat float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (1.0::float8 - asinh(tan(radians(lat))) / pi()) / 2.0::float8
$$
""",
    """
CREATE FUNCTION tile_cell(frac float8, level int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least((1 << level) - 1, greatest(0, floor(frac * (1 << level)::float8)))::int
$$
""",
    f"""
CREATE FUNCTION event_tile_cell_levels() RETURNS TABLE (level int, monthly bool, totals bool)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT l, false, false FROM generate_series({ALL_TIME_LEVELS.start}, {ALL_TIME_LEVELS.stop - 1}) l
    UNION ALL
    SELECT l, false, true FROM generate_series({ALL_TIME_LEVELS.start}, {ALL_TIME_LEVELS.stop - 1}) l
    UNION ALL
    SELECT l, true, false FROM generate_series({MONTHLY_LEVELS.start}, {MONTHLY_LEVELS.stop - 1}) l
$$
""",
]


def _keyed(changes: str) -> str:
    """SQL: the changed events' contributions, one row per (level, month, cell, type,
    verification); `changes` (a SELECT) has sign (+1 added, -1 removed), geom, occurred_at,
    event_type, verification, fatalities."""
    return f"""
    WITH changes AS ({changes}),
    placed AS (
        SELECT c.sign, c.event_type, c.verification, c.fatalities, c.occurred_at,
               tile_frac_x(ST_X(c.geom)) AS fx, tile_frac_y(ST_Y(c.geom)) AS fy,
               date_trunc('month', c.occurred_at AT TIME ZONE 'UTC')::date AS month
        FROM changes c
        WHERE ST_Y(c.geom) BETWEEN -{MAX_LAT} AND {MAX_LAT}
    )
    SELECT l.level,
           CASE WHEN l.monthly THEN p.month ELSE '-infinity'::date END AS month,
           tile_cell(p.fx, l.level) AS cx, tile_cell(p.fy, l.level) AS cy,
           CASE WHEN l.totals THEN '{ANY}' ELSE p.event_type END AS event_type,
           CASE WHEN l.totals THEN '{ANY}' ELSE p.verification END AS verification,
           sum(p.sign)::int AS events,
           coalesce(sum(p.sign * p.fatalities), 0)::bigint AS fatalities,
           (sum(p.sign) FILTER (WHERE p.fatalities IS NOT NULL))::int AS reported,
           min(p.occurred_at) FILTER (WHERE p.sign > 0) AS first_added,
           max(p.occurred_at) FILTER (WHERE p.sign > 0) AS last_added,
           min(p.occurred_at) FILTER (WHERE p.sign < 0) AS first_removed,
           max(p.occurred_at) FILTER (WHERE p.sign < 0) AS last_removed,
           sum(p.sign * p.fx) AS sum_x, sum(p.sign * p.fy) AS sum_y
    FROM placed p CROSS JOIN event_tile_cell_levels() l
    GROUP BY 1, 2, 3, 4, 5, 6
    -- an event that left and came back (the all-type row when only its type changed) is no
    -- change: same counts and sums, and the same first and last times in and out
    HAVING NOT (sum(p.sign) = 0 AND coalesce(sum(p.sign * p.fatalities), 0) = 0
                AND coalesce(sum(p.sign) FILTER (WHERE p.fatalities IS NOT NULL), 0) = 0
                AND sum(p.sign * p.fx) = 0 AND sum(p.sign * p.fy) = 0
                AND min(p.occurred_at) FILTER (WHERE p.sign > 0)
                    = min(p.occurred_at) FILTER (WHERE p.sign < 0)
                AND max(p.occurred_at) FILTER (WHERE p.sign > 0)
                    = max(p.occurred_at) FILTER (WHERE p.sign < 0))
    """


KEY = "level, month, cx, cy, event_type, verification"
KEY_MATCH = " AND ".join(f"t.{c} = d.{c}" for c in KEY.split(", "))


UPSERT = f"""
    INSERT INTO event_tile_cells AS t
        ({KEY}, events, fatalities, reported, first_at, last_at, sum_x, sum_y)
    SELECT {KEY}, events, fatalities, coalesce(reported, 0),
           -- removed events lie inside the row's first..last, so they never widen it (and
           -- keep the proposed row NOT NULL when a key only lost events)
           coalesce(first_added, first_removed), coalesce(last_added, last_removed),
           sum_x, sum_y
    FROM deltas d
    ORDER BY {KEY}  -- one lock order for concurrent writers
    ON CONFLICT ({KEY}) DO UPDATE SET
        events = t.events + EXCLUDED.events,
        fatalities = t.fatalities + EXCLUDED.fatalities,
        reported = t.reported + EXCLUDED.reported,
        first_at = least(t.first_at, EXCLUDED.first_at),
        last_at = greatest(t.last_at, EXCLUDED.last_at),
        sum_x = t.sum_x + EXCLUDED.sum_x,
        sum_y = t.sum_y + EXCLUDED.sum_y
"""


def _add(changes: str) -> str:
    """Add the deltas: counts and sums add up, first/last widen with the added events."""
    return f"WITH deltas AS ({_keyed(changes)}) {UPSERT}"


def _add_and_collect(changes: str) -> str:
    """Add the deltas and keep in `todo` the rows that lost an event which was their first or
    last (or their last event): event_tile_cells_settle() finishes them."""
    return f"""
    WITH deltas AS ({_keyed(changes)}), upserted AS ({UPSERT} RETURNING t.*)
    SELECT array_agg(ROW(u.*)::event_tile_cells) INTO todo
    FROM upserted u JOIN deltas d ON {KEY_MATCH.replace("t.", "u.")}
    WHERE d.first_removed IS NOT NULL
      AND (u.events = 0 OR d.first_removed <= u.first_at OR d.last_removed >= u.last_at)
    """


FINEST, FINEST_MONTHLY = ALL_TIME_LEVELS[-1], MONTHLY_LEVELS[-1]
FROM_EVENTS = f"""
    SELECT min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at
    FROM events e
    WHERE e.deleted_at IS NULL AND (d.event_type = '{ANY}' OR e.event_type = d.event_type)
      AND (d.verification = '{ANY}' OR e.verification = d.verification)
      AND e.geom && ST_MakeEnvelope(
            d.cx::float8 / (1 << d.level) * 360.0 - 180.0 - 1e-9,
            degrees(atan(sinh(pi() * (1 - 2 * (d.cy + 1)::float8 / (1 << d.level))))) - 1e-9,
            (d.cx + 1)::float8 / (1 << d.level) * 360.0 - 180.0 + 1e-9,
            degrees(atan(sinh(pi() * (1 - 2 * d.cy::float8 / (1 << d.level))))) + 1e-9,
            4326)
      AND ST_Y(e.geom) BETWEEN -{MAX_LAT} AND {MAX_LAT}
      AND tile_cell(tile_frac_x(ST_X(e.geom)), d.level) = d.cx
      AND tile_cell(tile_frac_y(ST_Y(e.geom)), d.level) = d.cy
      AND (d.month = '-infinity'::date
           OR (e.occurred_at >= d.month::timestamp AT TIME ZONE 'UTC'
               AND e.occurred_at < (d.month + interval '1 month') AT TIME ZONE 'UTC'))
"""
FROM_CHILDREN = """
    SELECT min(c.first_at) AS first_at, max(c.last_at) AS last_at
    FROM event_tile_cells c
    WHERE c.level = d.level + 1 AND c.month = d.month
      AND c.cx BETWEEN 2 * d.cx AND 2 * d.cx + 1 AND c.cy BETWEEN 2 * d.cy AND 2 * d.cy + 1
      AND c.event_type = d.event_type AND c.verification = d.verification
"""
SET_SPAN = "UPDATE event_tile_cells t SET first_at = r.first_at, last_at = r.last_at"
SETTLE = f"""
CREATE FUNCTION event_tile_cells_settle(todo event_tile_cells[]) RETURNS void
LANGUAGE plpgsql
-- Every lookup here is by a cell: an index scan, even when the statistics are stale (a bulk
-- import that filled an empty table in this transaction would otherwise get a sequential
-- scan of `events` per row to settle).
SET enable_seqscan = off
SET enable_nestloop = on
SET jit = off
AS $fn$
DECLARE
    lvl int;
BEGIN
    IF todo IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM event_tile_cells t USING unnest(todo) d WHERE {KEY_MATCH} AND t.events = 0;
    -- The finest rows from the events (a small cell, or a cell and a month) ...
    {SET_SPAN}
    FROM unnest(todo) d, LATERAL ({FROM_EVENTS}) r
    WHERE {KEY_MATCH}
      AND ((d.level = {FINEST} AND d.month = '-infinity'::date)
           OR (d.level = {FINEST_MONTHLY} AND d.month <> '-infinity'::date));
    -- ... then each coarser level from its four (already settled) children.
    FOR lvl IN REVERSE {FINEST - 1}..{ALL_TIME_LEVELS[0]} LOOP
        {SET_SPAN}
        FROM unnest(todo) d, LATERAL ({FROM_CHILDREN}) r
        WHERE {KEY_MATCH} AND d.level = lvl
          AND (d.month = '-infinity'::date OR d.level < {FINEST_MONTHLY});
    END LOOP;
END
$fn$
"""


COLUMNS = "geom, occurred_at, event_type, verification, fatalities"
INSERTED = f"SELECT 1 AS sign, {COLUMNS} FROM new_rows WHERE deleted_at IS NULL"
DELETED = f"SELECT -1 AS sign, {COLUMNS} FROM old_rows WHERE deleted_at IS NULL"
# Rows of an UPDATE whose contribution changed (a re-import that changes nothing costs little).
CHANGED_PAIRS = """
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (ST_X(o.geom), ST_Y(o.geom), o.occurred_at, o.event_type, o.verification,
           o.fatalities, o.deleted_at IS NULL)
          IS DISTINCT FROM
          (ST_X(n.geom), ST_Y(n.geom), n.occurred_at, n.event_type, n.verification,
           n.fatalities, n.deleted_at IS NULL)
"""
UPDATED = f"""
    SELECT -1 AS sign, o.geom, o.occurred_at, o.event_type, o.verification, o.fatalities
    {CHANGED_PAIRS} AND o.deleted_at IS NULL
    UNION ALL
    SELECT 1, n.geom, n.occurred_at, n.event_type, n.verification, n.fatalities
    {CHANGED_PAIRS} AND n.deleted_at IS NULL
"""


SYNC = f"""
CREATE FUNCTION event_tile_cells_sync() RETURNS trigger LANGUAGE plpgsql
-- a bulk write's deltas are sorted and hashed in memory rather than in temporary files; and
-- no JIT: the plans' costs are inflated by the disabled nested loops below, and compiling them
-- took ~0.6 s per statement
SET work_mem = '64MB'
SET jit = off
AS $fn$
DECLARE
    todo event_tile_cells[];
    nestloop text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE event_tile_cells;
    ELSIF TG_OP = 'INSERT' THEN
        {_add(INSERTED)};
    ELSE
        -- The deltas join the upserted rows by hashing even when the statistics are stale
        -- (the planner guesses a few changed rows, and a nested loop over a million deltas
        -- never ends); the setting is put back right after.
        nestloop := current_setting('enable_nestloop');
        PERFORM set_config('enable_nestloop', 'off', true);
        IF TG_OP = 'UPDATE' THEN
            {_add_and_collect(UPDATED)};
        ELSE
            {_add_and_collect(DELETED)};
        END IF;
        PERFORM set_config('enable_nestloop', nestloop, true);
        PERFORM event_tile_cells_settle(todo);
    END IF;
    RETURN NULL;
END
$fn$
"""
TRIGGERS = {
    "insert": "AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows",
    "truncate": "AFTER TRUNCATE ON events",
}

BACKFILL = _add(f"SELECT 1 AS sign, {COLUMNS} FROM events WHERE deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "event_tile_cells",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("verification", sa.String(length=12), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("fatalities", sa.BigInteger(), nullable=False),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sum_x", sa.Float(precision=53), nullable=False),
        sa.Column("sum_y", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint(
            "level",
            "month",
            "cx",
            "cy",
            "event_type",
            "verification",
            name=op.f("pk_event_tile_cells"),
        ),
        # room on each page, so that updating a row's counts is a HOT update (no index entry)
        postgresql_with={"fillfactor": "70"},
    )
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute(BACKFILL)
    # Planner statistics now: tiles are read before autovacuum would get to a new table.
    op.execute("ANALYZE event_tile_cells")
    op.execute(SETTLE)
    op.execute(SYNC)
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER events_tile_cells_{name} {when} "
            "FOR EACH STATEMENT EXECUTE FUNCTION event_tile_cells_sync()"
        )


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER events_tile_cells_{name} ON events")
    for function in (
        "event_tile_cells_sync()",
        "event_tile_cells_settle(event_tile_cells[])",
        "event_tile_cell_levels()",
        "tile_cell(float8, int)",
        "tile_frac_y(float8)",
        "tile_frac_x(float8)",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("event_tile_cells")
