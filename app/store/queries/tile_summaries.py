"""Low-zoom tiles from the stored per-cell counts (migration 0006), not from the events.

When the filter is only the tile, whole-tile boxes, time, event types and verifications, a
tile's cells are summed from ``event_tile_cells``: the all-time rows without a time filter,
else the monthly rows for the whole months of the window, plus the events themselves for the
partial months at its ends and for those that began before it.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Select,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import BBox, EventFilter, Interval
from app.geo.tiles import Tile
from app.store.models import Event, EventTileCell
from app.store.queries.common import ts
from app.store.queries.event_filters import event_conditions, starts_before_end
from app.store.queries.tile_geometry import (
    cell_of,
    in_tile,
    in_tile_exact,
    iso_utc,
    mvt_geom,
    sql_float,
    sql_int,
    tile_fraction,
)

events = Event.__table__
tile_cells = EventTileCell.__table__


# The levels migration 0006 keeps in event_tile_cells (its triggers and backfill say the same).
ALL_TIME_LEVELS = range(10, 16)
MONTHLY_LEVELS = range(10, 14)
ALL_TIME: ColumnElement[Any] = literal_column("'-infinity'::date")
ANY = "*"  # event_type and verification of the all-time rows over all of them


MIN_SUMMARY_SIDE = 8  # coarser than 8 x 8 cells (32 px) a tile is counted from the events


def cell_level(t: Tile, cells_per_side: int) -> int:
    """The grid level whose cells are the tile's cells (a power-of-two count per edge)."""
    return t.z + cells_per_side.bit_length() - 1


def summary_grid(t: Tile, cells_per_side: int, stored: range) -> tuple[int, int] | None:
    """The stored level to read and the cells per tile edge to count: the coarsest stored level
    at least as fine as the wanted cells (finer ones are rolled up by shifting their indexes).
    Past the finest stored level, fewer and larger cells, down to ``MIN_SUMMARY_SIDE``; None
    below that."""
    if cell_level(t, cells_per_side) > stored[-1]:
        cells_per_side = 1 << max(0, stored[-1] - t.z)
        if cells_per_side < MIN_SUMMARY_SIDE:
            return None
    return max(cell_level(t, cells_per_side), stored[0]), cells_per_side


def _covers(box: BBox, t: Tile) -> bool:
    west, south, east, north = t.lonlat_bounds()
    return any(
        p.min_lon <= west and p.max_lon >= east and p.min_lat <= south and p.max_lat >= north
        for p in box.parts()
    )


def summary_answers(f: EventFilter, t: Tile) -> bool:
    """Whether event_tile_cells can count this filter: only the tile, whole-tile boxes, time,
    event types and verifications; anything else (place, within, near, text, …) cannot."""
    if f.bbox is not None and not _covers(f.bbox, t):
        return False
    rest = replace(f, bbox=None, interval=None, event_types=(), verifications=())
    return rest == EventFilter()


def _month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(month: datetime) -> datetime:
    if month.month == 12:
        return month.replace(year=month.year + 1, month=1)
    return month.replace(month=month.month + 1)


def split_interval(
    interval: Interval,
) -> tuple[
    tuple[datetime | None, datetime | None] | None,
    ColumnElement[bool] | None,
    list[ColumnElement[bool]],
]:
    """An event matches a datetime interval when it starts inside it or starts before it and is
    still going on at its start. Split into the whole UTC months [m1, m2) of starts that the
    summary answers (None: none; a None end is open) and SQL conditions on the events that
    the summary cannot answer: the events that began before the interval and cover its start
    (None without a start), and starts in the partial months at both ends."""
    e = events.c
    start, end = interval.start, interval.end
    m1 = None
    if start is not None:
        m1 = _month_start(start)
        if m1 < start:
            m1 = _next_month(m1)
    m2 = None if end is None else _month_start(end)
    covering = None
    if start is not None:
        covers_start = e.during.op("@>", is_comparison=True)(ts(start))
        covering = and_(covers_start, e.occurred_at < ts(start))
    raw: list[ColumnElement[bool]] = []
    if m1 is not None and m2 is not None and m1 >= m2:  # no whole month inside
        starts = [starts_before_end(interval)] if end is not None else []
        raw.append(and_(e.occurred_at >= ts(start), *starts))
        return None, covering, raw
    if start is not None and m1 is not None and start < m1:
        raw.append(and_(e.occurred_at >= ts(start), e.occurred_at < ts(m1)))
    if end is not None and m2 is not None and (m2 < end or interval.end_inclusive):
        raw.append(and_(e.occurred_at >= ts(m2), starts_before_end(interval)))
    return (m1, m2), covering, raw


def _stored_rows(
    f: EventFilter,
    t: Tile,
    level: int,
    cells_per_side: int,
    months: tuple[datetime | None, ...] | None,
) -> Select[Any]:
    """Summary rows of the tile at ``level``, rolled up to ``cells_per_side`` cells a side; all
    time when ``months`` is None, else the whole months [m1, m2) (None ends are open)."""
    c = tile_cells.c
    span = 1 << (level - t.z)  # cells of the stored level along a tile edge
    shift = level - cell_level(t, cells_per_side)
    x0, y0 = t.x * span, t.y * span
    picked = [c.level == level, c.cx.between(x0, x0 + span - 1), c.cy.between(y0, y0 + span - 1)]
    if months is None:
        picked.append(c.month == ALL_TIME)
    else:
        m1, m2 = months
        picked.append(c.month > ALL_TIME)
        if m1 is not None:
            picked.append(c.month >= m1.date())
        if m2 is not None:
            picked.append(c.month < m2.date())
    if months is None and not f.event_types and not f.verifications:
        picked += [c.event_type == ANY, c.verification == ANY]
    else:
        picked.append(c.event_type.in_(f.event_types) if f.event_types else c.event_type != ANY)
        if f.verifications:
            picked.append(c.verification.in_(f.verifications))
    n = float(1 << t.z)
    return select(
        (c.cx - x0).op(">>")(shift).label("col"),
        (c.cy - y0).op(">>")(shift).label("row"),
        c.events.label("n"),
        c.fatalities.label("fatalities"),
        c.reported.label("reported"),
        c.first_at.label("first_at"),
        c.last_at.label("last_at"),
        # sums of the events' fractions of the tile, as cells_query averages them
        (c.sum_x * n - c.events * float(t.x)).label("sum_fx"),
        (c.sum_y * n - c.events * float(t.y)).label("sum_fy"),
    ).where(*picked)


def _event_rows(
    f: EventFilter, t: Tile, cells_per_side: int, times: list[ColumnElement[bool]], indexed: bool
) -> Select[Any]:
    """The events of the tile that the summary cannot place in time, shaped like its rows;
    ``indexed``: found through the tile's box (else through the time condition's index)."""
    e = events.c
    fx, fy = tile_fraction(t)
    kept = event_conditions(replace(f, bbox=None, interval=None))
    return select(
        *cell_of(t, cells_per_side),
        sql_int(1).label("n"),
        func.coalesce(e.fatalities, 0).cast(BigInteger).label("fatalities"),
        case((e.fatalities.is_(None), 0), else_=1).label("reported"),
        e.occurred_at.label("first_at"),
        e.occurred_at.label("last_at"),
        fx.label("sum_fx"),
        fy.label("sum_fy"),
    ).where(and_(true(), *kept, *(in_tile(t) if indexed else in_tile_exact(t)), or_(*times)))


def summary_cells_query(f: EventFilter, t: Tile, cells_per_side: int) -> Select[Any] | None:
    """The same rows as ``cells_query``, from event_tile_cells (all time, or whole months plus
    the few events the months cannot answer); None when the filter needs the events."""
    if not summary_answers(f, t):
        return None
    interval = f.interval if f.interval is not None and not f.interval.is_unbounded else None
    grid = summary_grid(t, cells_per_side, ALL_TIME_LEVELS if interval is None else MONTHLY_LEVELS)
    if grid is None:
        return None
    level, cells_per_side = grid
    parts: list[Select[Any]] = []
    if interval is None:
        parts.append(_stored_rows(f, t, level, cells_per_side, None))
    else:
        months, covering, times = split_interval(interval)
        if months is not None:
            parts.append(_stored_rows(f, t, level, cells_per_side, months))
        if covering is not None:
            parts.append(_event_rows(f, t, cells_per_side, [covering], indexed=False))
        if times:
            parts.append(_event_rows(f, t, cells_per_side, times, indexed=True))
    p = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("placed")
    xmin, _, _, ymax = t.mercator_bounds()
    size = t.size_m
    total = func.sum(p.c.n)
    weight = total.cast(Float)
    centre = func.ST_SetSRID(
        func.ST_MakePoint(
            sql_float(xmin) + func.sum(p.c.sum_fx) / weight * sql_float(size),
            sql_float(ymax) - func.sum(p.c.sum_fy) / weight * sql_float(size),
        ),
        3857,
    )
    fatalities = func.sum(p.c.fatalities).cast(BigInteger)
    return select(
        total.label("count"),
        case((func.sum(p.c.reported) > 0, fatalities)).label("fatalities"),
        iso_utc(func.min(p.c.first_at)).label("first_at"),
        iso_utc(func.max(p.c.last_at)).label("last_at"),
        mvt_geom(centre, t).label("geom"),
    ).group_by(p.c.col, p.c.row)
