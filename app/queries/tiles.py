"""SQL for Mapbox vector tiles of the events: one statement that PostGIS encodes (ST_AsMVT).

A tile carries either the matching events as points (layer ``events``) or, when more than
``max_features`` of them fall in the tile, their counts per grid cell (layer ``event_cells``).
PostgreSQL decides which in the same statement: it counts at most ``max_features + 1`` rows,
then runs only the branch of the CASE it needs.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from app.filters import BBox, EventFilter, Interval
from app.models import Event, EventTileCell, Place
from app.queries.common import bbox_clause, ts
from app.queries.events import event_conditions, starts_before_end
from app.tiles import EXTENT, Tile, grid_cells_per_side

events = Event.__table__
tile_cells = EventTileCell.__table__
# The events' own place, aliased so that no filter subquery over `places` correlates with it.
event_place = Place.__table__.alias("event_place")

POINTS_LAYER = "events"
CELLS_LAYER = "event_cells"
BUFFER = 64  # tile units kept around the edge, so symbols near it are not cut


def iso_utc(moment: ColumnElement[Any]) -> ColumnElement[str]:
    """RFC 3339 text in UTC (a tile has no timestamp type)."""
    return func.to_char(func.timezone("UTC", moment), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def _float(value: float) -> ColumnElement[float]:
    return literal(value, Float)


def _int(value: int) -> ColumnElement[int]:
    return literal(value, Integer)


def in_tile(t: Tile) -> list[ColumnElement[bool]]:
    """Points in the tile: the tile's box, which the GiST index answers, then its exact edges
    (``&&`` compares float4-rounded boxes, which reach a little past them)."""
    return [bbox_clause(events.c.geom, BBox(*t.lonlat_bounds())), *in_tile_exact(t)]


def _envelope(t: Tile) -> ColumnElement[Any]:
    return func.ST_TileEnvelope(_int(t.z), _int(t.x), _int(t.y))


def _mvt_geom(geom_3857: ColumnElement[Any], t: Tile) -> ColumnElement[Any]:
    return func.ST_AsMVTGeom(geom_3857, _envelope(t), EXTENT, BUFFER, True)


def tile_point(t: Tile) -> ColumnElement[Any]:
    """The event's point in tile units, as ST_AsMVTGeom would snap it: the tile holds only its
    own points (``in_tile``), so there is nothing to clip and no need to reproject."""
    fx, fy = tile_fraction(t)
    return func.ST_MakePoint(func.round(fx * EXTENT), func.round(fy * EXTENT))


def points_query(f: EventFilter, t: Tile) -> Select[Any]:
    """One row per matching event in the tile, with what a map styles and pops up; the id is
    both the feature id (``fid``) and a property, for clients that read only one of them."""
    e = events.c
    return (
        select(
            e.id.label("fid"),
            e.id,
            e.title,
            e.event_type,
            e.verification,
            iso_utc(e.occurred_at).label("occurred_at"),
            iso_utc(e.occurred_until).label("occurred_until"),
            e.time_precision,
            event_place.c.name.label("place_name"),
            e.source_count,
            e.fatalities,
            tile_point(t).label("geom"),
        )
        .select_from(events.outerjoin(event_place, event_place.c.id == e.place_id))
        .where(and_(true(), *event_conditions(f), *in_tile(t)))
    )


def tile_fraction(t: Tile) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Where each event lies inside the tile, as fractions of its width and height from the
    top-left corner (Web Mercator formulas on lon/lat, so no per-row reprojection)."""
    n = float(1 << t.z)
    lon, lat = func.ST_X(events.c.geom), func.ST_Y(events.c.geom)
    fx = (lon + 180.0) / 360.0 * n - float(t.x)
    fy = (1.0 - func.asinh(func.tan(func.radians(lat))) / func.pi()) / 2.0 * n - float(t.y)
    return fx, fy


def cell_of(t: Tile, cells_per_side: int) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The grid cell each event falls in, as columns ``col`` and ``row`` (clamped to the tile)."""
    last = cells_per_side - 1

    def index(fraction: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.least(last, func.greatest(0, func.floor(fraction * cells_per_side)))

    fx, fy = tile_fraction(t)
    return index(fx).label("col"), index(fy).label("row")


def cells_query(f: EventFilter, t: Tile, cells_per_side: int) -> Select[Any]:
    """Counts per grid cell of the tile; each cell's point is the mean position of its events."""
    fx, fy = tile_fraction(t)
    col, row = cell_of(t, cells_per_side)
    placed = (
        select(fx.label("fx"), fy.label("fy"), col, row, events.c.fatalities, events.c.occurred_at)
        .where(and_(true(), *event_conditions(f), *in_tile(t)))
        .subquery("placed")
    )
    xmin, _, _, ymax = t.mercator_bounds()
    size = t.size_m
    centre = func.ST_SetSRID(
        func.ST_MakePoint(
            _float(xmin) + func.avg(placed.c.fx) * _float(size),
            _float(ymax) - func.avg(placed.c.fy) * _float(size),
        ),
        3857,
    )
    p = placed.c
    return select(
        func.count().label("count"),
        func.sum(p.fatalities).label("fatalities"),
        iso_utc(func.min(p.occurred_at)).label("first_at"),
        iso_utc(func.max(p.occurred_at)).label("last_at"),
        _mvt_geom(centre, t).label("geom"),
    ).group_by(p.col, p.row)


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


def in_tile_exact(t: Tile) -> list[ColumnElement[bool]]:
    """Points in the tile, half-open (west and north edges in, east and south edges out, but
    for the world's last column and row), so every point is in exactly one tile of a zoom;
    without an index box, for scans that find their rows by another index."""
    west, south, east, north = t.lonlat_bounds()
    x, y = func.ST_X(events.c.geom), func.ST_Y(events.c.geom)
    return [
        x >= _float(west),
        x <= _float(east) if t.is_last_column else x < _float(east),
        y <= _float(north),
        y >= _float(south) if t.is_last_row else y > _float(south),
    ]


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
        _int(1).label("n"),
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
            _float(xmin) + func.sum(p.c.sum_fx) / weight * _float(size),
            _float(ymax) - func.sum(p.c.sum_fy) / weight * _float(size),
        ),
        3857,
    )
    fatalities = func.sum(p.c.fatalities).cast(BigInteger)
    return select(
        total.label("count"),
        case((func.sum(p.c.reported) > 0, fatalities)).label("fatalities"),
        iso_utc(func.min(p.c.first_at)).label("first_at"),
        iso_utc(func.max(p.c.last_at)).label("last_at"),
        _mvt_geom(centre, t).label("geom"),
    ).group_by(p.c.col, p.c.row)


def _mvt(rows: Select[Any], layer: str, id_column: str | None) -> ColumnElement[bytes]:
    sub = rows.subquery(layer)
    args: list[Any] = [sub.table_valued(), layer, EXTENT, "geom"]
    if id_column is not None:
        args.append(id_column)
    return select(func.ST_AsMVT(*args)).select_from(sub).scalar_subquery()


def event_tile(f: EventFilter, t: Tile, max_features: int) -> Select[Any]:
    """The tile's MVT bytes: points when at most ``max_features`` match, else cell counts."""
    side = grid_cells_per_side(max_features)
    points = _mvt(points_query(f, t), POINTS_LAYER, "fid")
    summary = summary_cells_query(f, t, side)
    if summary is not None:
        # The cells' counts add up to the matching events: they decide, no probe needed.
        cells = summary.cte("cells")
        many = select(func.sum(cells.c["count"])).scalar_subquery() > max_features
        encoded = select(func.ST_AsMVT(cells.table_valued(), CELLS_LAYER, EXTENT, "geom"))
        return select(case((many, encoded.scalar_subquery()), else_=points).label("tile"))
    probe = (
        select(literal(1))
        .select_from(events)
        .where(and_(true(), *event_conditions(f), *in_tile(t)))
        .limit(max_features + 1)
        .subquery("probe")
    )
    many = select(func.count()).select_from(probe).scalar_subquery() > max_features
    return select(
        case((many, _mvt(cells_query(f, t, side), CELLS_LAYER, None)), else_=points).label("tile")
    )
