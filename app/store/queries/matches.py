"""Candidates for "the same happening, reported twice": found and scored inside PostGIS.

How far apart two reports of one happening may be follows the coarser precision of the two
(migration 0016): ``match_radius_m`` in space (2 km for an exact point … 250 km for a region,
or the region itself when the gazetteer has its boundary) and ``match_window`` in time (an
hour either side of a minute, the whole day of a day-precision date …). A candidate must
pass both gates; its score then weighs how close it is in space and time, whether the types
agree, whether both name the same place, and how alike the titles are (``pg_trgm``). In time,
"close" compares what the two say (the minutes of a timed span, the days a date names), not
their windows: two timed spans (an alert from 21:21 to 22:02) must agree at both ends, and a
day is closer to a span of days that holds it than to one two days off in the same week.

Index probes find every event that could pass the gates, each in a partial index by the
window each event may match in, so that every probe asks for exactly the base's window:
fine events (minute to day, exact to settlement: a radius of at most 10 km) in the base's
reach (its radius, or its region's box, widened by 10 km), keyed window first (migration
0017); coarse dates at a fine place in the same reach (0016); districts, regions and
countries whose place's boundary holds the base, by that place, and the others by point
within the wider of their precision's radius and the base's (0018: one index each). The
probes are disjoint (the by-point ones leave out the places probed by place), so no
candidate comes twice.

Each level of the statement is computed once per row (``OFFSET 0`` keeps PostgreSQL from
folding it into the next, which would compute the distance in the gate and again for the
score): the distances and overlaps of every probed row, then the title similarity and the
score only of those past both gates.
"""

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Boolean, Float, Integer, Text

from app.store.models.base import (
    AREA_PRECISIONS,
    COARSE_EVENT,
    COARSE_PLACE,
    COARSE_TIME_AT_FINE_PLACE,
)

# How much each agreement adds to a candidate's score (in [0, 1]).
WEIGHTS = {"space": 0.30, "time": 0.25, "kind": 0.20, "place": 0.10, "title_similarity": 0.15}
FINE_RADIUS_M = 10_000  # the widest radius of a fine event (settlement precision)
DEFAULT_MIN_SCORE = 0.5

# The base events: one event, or a batch of them (a dataset's, by id).
ONE_EVENT = "e.id = :event_id AND e.deleted_at IS NULL"
DATASET_BATCH = "e.id = ANY(CAST(:ids AS bigint[]))"
_COLUMNS = (
    "id, geom, during, dataset, external_id, title, occurred_at, event_type, place_id, "
    "deleted_at, time_precision, location_precision"
)


def _columns(t: str) -> str:
    """The columns a candidate is read with, of events table alias ``t``."""
    return ", ".join(f"{t}.{name}" for name in _COLUMNS.split(", "))


# What a report says: its instant or span, to the minute or hour it gives; the days it names
# (whole) for a date given to the day or coarser. Its window (the whole week, month or year
# of a coarser date) is the gate; how far apart the spans are grades the score within it.
_SPAN = (
    "CASE WHEN {t}.time_precision IN ('minute', 'hour') THEN {t}.during "
    "ELSE match_window({t}.during, 'day') END"
)
# A timed span (to the minute or hour, with an end after its start): two of them report one
# happening when both ends agree, not merely when they overlap.
_TIMED = "({t}.time_precision IN ('minute', 'hour') AND upper({t}.during) > lower({t}.during))"
# The radius of each coarse place's precision (match_radius_m).
AREA_RADII_M = dict(zip(AREA_PRECISIONS, (40_000, 250_000, 1_000_000), strict=True))
_UNION = "\n                    UNION ALL"


def _widened(box: str, metres: str) -> str:
    """``box`` widened by ``metres`` on every side, in degrees at base b's latitude (110 km a
    degree: a little more than the earth gives, so nothing within reach is left out)."""
    return (f"ST_Expand({box}, {metres} / 110000.0 / cos(radians(least(abs(ST_Y(b.geom)), "
            f"89))), {metres} / 110000.0)")  # fmt: skip


def _read(t: str, area: str) -> str:
    """What every probe reads of a candidate (events alias ``t``): its columns, window, span,
    radius and ``area`` (its region's boundary, for a coarse place)."""
    return (f"{_columns(t)}, match_window({t}.during, {t}.time_precision) AS win, "
            f"{_SPAN.format(t=t)} AS span, {_TIMED.format(t=t)} AS timed, "
            f"match_radius_m({t}.location_precision) AS radius, {area} AS area")  # fmt: skip


def _area_arm(precision: str) -> str:
    """The probe for candidates of one coarse place precision whose place does not hold the
    base: by point, in that precision's own partial index."""
    # Within the wider of the two radii, or in the base's region when the base is the wider.
    r = AREA_RADII_M[precision]
    box = (f"CASE WHEN b.area IS NOT NULL AND b.radius >= {r} THEN b.reach "
           f"ELSE {_widened('b.geom', f'greatest(b.radius, {r})')} END")  # fmt: skip
    return f"""
                    SELECT {_read("w", "a.boundary")}
                    FROM events w LEFT JOIN places a ON a.id = w.place_id
                    WHERE w.geom && {box}
                      AND match_window(w.during, w.time_precision) && b.win
                      AND w.location_precision = '{precision}'
                      AND (w.place_id IS NULL OR w.place_id <> ALL(b.covering))"""  # noqa: S608


_SCORE = " + ".join(f"{weight} * {part}" for part, weight in WEIGHTS.items())

# {base}: one of the two constants above; everything a caller gives is bound.
_CANDIDATES = f"""
WITH base AS MATERIALIZED (
    SELECT e.id, e.geom, e.during, e.dataset, e.event_type, e.place_id, e.title,
           match_window(e.during, e.time_precision) AS win, {_SPAN.format(t="e")} AS span,
           {_TIMED.format(t="e")} AS timed,
           match_radius_m(e.location_precision) AS radius,
           CASE WHEN e.{COARSE_PLACE} THEN p.boundary END AS area
    FROM events e LEFT JOIN places p ON p.id = e.place_id
    WHERE {{base}}
), probe AS MATERIALIZED (
    SELECT b.*, upper(b.win) - lower(b.win) AS win_width,
           -- the places whose boundary holds the base: their events are probed by place
           ARRAY(SELECT p.id FROM places p WHERE ST_Covers(p.boundary, b.geom)) AS covering,
           -- where a candidate of fine place may be: within the base's radius, or its region
           CASE WHEN b.area IS NULL
                THEN {_widened("b.geom", f"greatest(b.radius, {FINE_RADIUS_M})")}
                ELSE {_widened("ST_Envelope(b.area)", str(FINE_RADIUS_M))} END AS reach
    FROM base b
)
SELECT b.id AS event_id, m.*
FROM probe b
CROSS JOIN LATERAL (
    SELECT candidate_id, dataset, external_id, title, occurred_at,
           round(CAST(score AS numeric), 3)::float8 AS score,
           round(distance_m)::float8 AS distance_m, distance_limit_m, inside_area,
           round(time_gap_s)::float8 AS time_gap_s, time_overlap, type, same_place,
           round(CAST(title_similarity AS numeric), 3)::float8 AS title_similarity,
           row_number() OVER (ORDER BY scored.score DESC, candidate_id) AS rank
    FROM (
        SELECT r.*, {_SCORE} AS score
        FROM (
            SELECT g.*,
                   CASE WHEN g.distance_m <= g.distance_limit_m
                        THEN 1 - g.distance_m / g.distance_limit_m ELSE 0 END AS space,
                   CASE WHEN g.both_timed
                            THEN greatest(0, 1 - g.ends_gap_s / greatest(g.slack_s, 1))
                        WHEN g.time_gap_s = 0 THEN 1
                        ELSE greatest(0, 1 - g.time_gap_s / greatest(g.slack_s, 1)) END AS time,
                   CASE g.type WHEN 'same' THEN 1 WHEN 'family' THEN 0.5 ELSE 0 END AS kind,
                   CASE WHEN g.same_place THEN 1 ELSE 0 END AS place,
                   similarity(g.title, b.title) AS title_similarity
            FROM (
                SELECT c.id AS candidate_id, c.dataset, c.external_id, c.title, c.occurred_at,
                       ST_Distance(CAST(b.geom AS geography), CAST(c.geom AS geography))
                           AS distance_m,
                       greatest(b.radius, c.radius) AS distance_limit_m,
                       CASE WHEN b.radius >= c.radius AND b.area IS NOT NULL
                                THEN ST_Covers(b.area, c.geom)
                            WHEN c.radius >= b.radius AND c.area IS NOT NULL
                                THEN ST_Covers(c.area, b.geom) END AS inside_area,
                       CASE WHEN b.span && c.span THEN 0
                            ELSE extract(epoch FROM greatest(lower(c.span) - upper(b.span),
                                                             lower(b.span) - upper(c.span)))
                       END AS time_gap_s,
                       b.span && c.span AS time_overlap,
                       b.timed AND c.timed AS both_timed,
                       (abs(extract(epoch FROM lower(c.span) - lower(b.span)))
                        + abs(extract(epoch FROM upper(c.span) - upper(b.span)))) / 2
                           AS ends_gap_s,
                       extract(epoch FROM b.win_width - (upper(b.span) - lower(b.span))
                               + (upper(c.win) - lower(c.win))
                               - (upper(c.span) - lower(c.span))) / 2 AS slack_s,
                       CASE WHEN c.event_type = b.event_type THEN 'same'
                            WHEN event_type_family(c.event_type)
                                 = event_type_family(b.event_type) THEN 'family'
                            ELSE 'different' END AS type,
                       c.place_id IS NOT NULL AND c.place_id = b.place_id AS same_place
                FROM (
                    SELECT {_read("f", "CAST(NULL AS geometry)")}
                    FROM events f
                    WHERE f.geom && b.reach AND match_window(f.during, f.time_precision) && b.win
                      AND NOT ({COARSE_EVENT})
                    UNION ALL
                    -- Coarse events, by the window each may match in (migration 0016's
                    -- partial index): those of a fine place in the base's reach …
                    SELECT {_read("k", "CAST(NULL AS geometry)")}
                    FROM events k
                    WHERE k.geom && b.reach AND match_window(k.during, k.time_precision) && b.win
                      AND k.{COARSE_TIME_AT_FINE_PLACE.replace(" AND ", " AND k.")}
                    UNION ALL
                    -- … those of a place whose boundary holds the base, by place …
                    SELECT {_read("v", "a.boundary")}
                    FROM unnest(b.covering) AS held(place_id)
                    JOIN places a ON a.id = held.place_id
                    JOIN events v ON v.place_id = held.place_id
                    WHERE match_window(v.during, v.time_precision) && b.win
                      AND v.{COARSE_PLACE}
                    -- … and the other districts, regions and countries, by point.
                    UNION ALL{_UNION.join(_area_arm(p) for p in AREA_RADII_M)}
                ) c
                WHERE c.id <> b.id AND c.deleted_at IS NULL
                  AND (CAST(:same_dataset AS boolean) OR c.dataset <> b.dataset)
                  AND (CAST(:against AS text[]) IS NULL
                       OR c.dataset = ANY(CAST(:against AS text[])))
                  AND c.win && b.win
                OFFSET 0  -- each gate's inputs computed once per row (not again above)
            ) g
            WHERE coalesce(g.inside_area, g.distance_m <= g.distance_limit_m)
            OFFSET 0  -- the title compared only past both gates, and once
        ) r
    ) scored
    WHERE scored.score >= :min_score
    ORDER BY scored.score DESC, candidate_id  -- the exact score: the rounded one ties more
    LIMIT :per_event
) m
ORDER BY b.id, m.rank
"""  # noqa: S608  (built from this module's constants; every value is bound)


def candidates(base: str) -> TextClause:
    """The scored candidates of each base event (``base``: ONE_EVENT or DATASET_BATCH)."""
    assert base in (ONE_EVENT, DATASET_BATCH)
    return text(_CANDIDATES.replace("{base}", base)).bindparams(
        bindparam("same_dataset", type_=Boolean),
        bindparam("against", type_=ARRAY(Text)),
        bindparam("min_score", type_=Float),
        bindparam("per_event", type_=Integer),
    )
