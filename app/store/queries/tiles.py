"""SQL for Mapbox vector tiles of the events: one statement that PostGIS encodes (ST_AsMVT).

A tile carries either the matching events as points (layer ``events``) or, when more than
``max_features`` of them fall in the tile, their counts per grid cell (layer ``event_cells``).
PostgreSQL decides which in the same statement: it counts at most ``max_features + 1`` rows,
then runs only the branch of the CASE it needs.
"""

from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import EventFilter
from app.geo.tiles import EXTENT, Tile, grid_cells_per_side
from app.store.models import Event, Place
from app.store.queries.event_filters import event_conditions
from app.store.queries.tile_geometry import (
    cell_of,
    in_tile,
    iso_utc,
    mvt_geom,
    sql_float,
    tile_fraction,
    tile_point,
)
from app.store.queries.tile_summaries import summary_cells_query

events = Event.__table__
# The events' own place, aliased so that no filter subquery over `places` correlates with it.
event_place = Place.__table__.alias("event_place")

POINTS_LAYER = "events"
CELLS_LAYER = "event_cells"


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
            sql_float(xmin) + func.avg(placed.c.fx) * sql_float(size),
            sql_float(ymax) - func.avg(placed.c.fy) * sql_float(size),
        ),
        3857,
    )
    p = placed.c
    return select(
        func.count().label("count"),
        func.sum(p.fatalities).label("fatalities"),
        iso_utc(func.min(p.occurred_at)).label("first_at"),
        iso_utc(func.max(p.occurred_at)).label("last_at"),
        mvt_geom(centre, t).label("geom"),
    ).group_by(p.col, p.row)


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
