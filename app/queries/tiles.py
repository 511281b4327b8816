"""SQL for Mapbox vector tiles of the events: one statement that PostGIS encodes (ST_AsMVT).

A tile carries either the matching events as points (layer ``events``) or, when more than
``max_features`` of them fall in the tile, their counts per grid cell (layer ``event_cells``).
PostgreSQL decides which in the same statement: it counts at most ``max_features + 1`` rows,
then runs only the branch of the CASE it needs.
"""

from typing import Any

from sqlalchemy import Float, Integer, Select, and_, case, func, literal, select, true
from sqlalchemy.sql.elements import ColumnElement

from app.filters import BBox, EventFilter
from app.models import Event, EventSource, Place
from app.queries.common import bbox_clause
from app.queries.events import event_conditions
from app.tiles import EXTENT, Tile, grid_cells_per_side

events = Event.__table__
event_sources = EventSource.__table__
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
    """Points in the tile, half-open (west and north edges in, east and south edges out), so
    every point is in exactly one tile of a zoom; the box test uses the GiST index."""
    west, south, east, north = t.lonlat_bounds()
    e = events.c
    clauses = [bbox_clause(e.geom, BBox(west, south, east, north))]
    if not t.is_last_column:
        clauses.append(func.ST_X(e.geom) < _float(east))
    if not t.is_last_row:
        clauses.append(func.ST_Y(e.geom) > _float(south))
    return clauses


def _envelope(t: Tile) -> ColumnElement[Any]:
    return func.ST_TileEnvelope(_int(t.z), _int(t.x), _int(t.y))


def _mvt_geom(geom_3857: ColumnElement[Any], t: Tile) -> ColumnElement[Any]:
    return func.ST_AsMVTGeom(geom_3857, _envelope(t), EXTENT, BUFFER, True)


def _source_count() -> ColumnElement[int]:
    es = event_sources.c
    return (
        select(func.count()).select_from(event_sources).where(es.event_id == events.c.id)
    ).scalar_subquery()


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
            _source_count().label("source_count"),
            e.fatalities,
            _mvt_geom(func.ST_Transform(e.geom, 3857), t).label("geom"),
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


def cells_query(f: EventFilter, t: Tile, cells_per_side: int) -> Select[Any]:
    """Counts per grid cell of the tile; each cell's point is the mean position of its events."""
    fx, fy = tile_fraction(t)
    last = cells_per_side - 1
    col = func.least(last, func.greatest(0, func.floor(fx * cells_per_side))).label("col")
    row = func.least(last, func.greatest(0, func.floor(fy * cells_per_side))).label("row")
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


def _mvt(rows: Select[Any], layer: str, id_column: str | None) -> ColumnElement[bytes]:
    sub = rows.subquery(layer)
    args: list[Any] = [sub.table_valued(), layer, EXTENT, "geom"]
    if id_column is not None:
        args.append(id_column)
    return select(func.ST_AsMVT(*args)).select_from(sub).scalar_subquery()


def event_tile(f: EventFilter, t: Tile, max_features: int) -> Select[Any]:
    """The tile's MVT bytes: points when at most ``max_features`` match, else cell counts."""
    probe = (
        select(literal(1))
        .select_from(events)
        .where(and_(true(), *event_conditions(f), *in_tile(t)))
        .limit(max_features + 1)
        .subquery("probe")
    )
    many = select(func.count()).select_from(probe).scalar_subquery() > max_features
    cells = cells_query(f, t, grid_cells_per_side(max_features))
    return select(
        case(
            (many, _mvt(cells, CELLS_LAYER, None)),
            else_=_mvt(points_query(f, t), POINTS_LAYER, "fid"),
        ).label("tile")
    )
