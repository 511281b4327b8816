"""SQL for aggregates over the events: a timeline, counts per region, counts per grid cell.

Every statement filters with ``event_conditions``, so a count means the same events that
``/events`` would list for the same parameters.
"""

from typing import Any

from sqlalchemy import Float, Select, and_, func, literal, literal_column, select, true
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import BBox, EventFilter
from app.store.models import Event, Place
from app.store.queries.common import feature_json, json_object
from app.store.queries.event_filters import event_conditions

events = Event.__table__
# Aliased so that a filter's own subqueries over `places` (e.g. `within`) never correlate.
region = Place.__table__.alias("region")

TIMELINE_GROUPS: dict[str, ColumnElement[Any]] = {
    "event_type": events.c.event_type,
    "verification": events.c.verification,
}
GRID_FUNCTIONS = {"square": func.ST_SquareGrid, "hexagon": func.ST_HexagonGrid}


def _reported_fatalities(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The sum of the reported counts; NULL when none was reported (unknown is not zero)."""
    return func.sum(column)


def timeline(f: EventFilter, interval: str, by: str | None) -> Select[Any]:
    """(start, key, count, fatalities) per UTC day, ISO week or month of ``occurred_at``."""
    e = events.c
    start = func.date_trunc(
        literal_column(f"'{_checked_interval(interval)}'"), e.occurred_at, "UTC"
    )
    key = TIMELINE_GROUPS[by] if by is not None else literal(None)
    return (
        select(
            start.label("start"),
            key.label("key"),
            func.count().label("count"),
            _reported_fatalities(e.fatalities).label("fatalities"),
        )
        .where(and_(true(), *event_conditions(f)))
        .group_by(start, key)
        .order_by(start, key)
    )


def _checked_interval(interval: str) -> str:
    # An identifier-like constant inlined into SQL: only ever one of these.
    if interval not in ("day", "week", "month"):
        raise ValueError(f"unknown interval {interval!r}")
    return interval


def _region_join(f: EventFilter, kind: str) -> tuple[Any, ColumnElement[bool]]:
    """Regions of ``kind`` left-joined to the matching events whose point lies inside them."""
    joined = region.outerjoin(
        events,
        and_(func.ST_Intersects(events.c.geom, region.c.boundary), *event_conditions(f)),
    )
    return joined, and_(region.c.kind == kind, region.c.boundary.is_not(None))


def _region_order() -> list[ColumnElement[Any]]:
    return [func.count(events.c.id).desc(), region.c.name, region.c.id]


def region_counts(f: EventFilter, kind: str) -> Select[Any]:
    """Every region of the kind with a boundary, with how many matching events lie in it."""
    joined, where = _region_join(f, kind)
    r = region.c
    return (
        select(
            r.id,
            r.slug,
            r.name,
            r.country_code,
            func.count(events.c.id).label("count"),
            _reported_fatalities(events.c.fatalities).label("fatalities"),
        )
        .select_from(joined)
        .where(where)
        .group_by(r.id)
        .order_by(*_region_order())
    )


def region_features(f: EventFilter, kind: str) -> Select[Any]:
    """The same counts as GeoJSON Features with the region boundaries (for choropleths)."""
    joined, where = _region_join(f, kind)
    r = region.c
    properties = json_object(
        {
            "slug": r.slug,
            "name": r.name,
            "kind": r.kind,
            "country_code": r.country_code,
            "count": func.count(events.c.id),
            "fatalities": _reported_fatalities(events.c.fatalities),
        }
    )
    feature = feature_json(properties, r.boundary, r.id)
    return (
        select(feature.label("feature"))
        .select_from(joined)
        .where(where)
        .group_by(r.id)
        .order_by(*_region_order())
    )


def grid_features(f: EventFilter, box: BBox, size_m: float, shape: str) -> Select[Any]:
    """Square or hexagonal cells of ``size_m`` EPSG:3857 metres over the box, with the count of
    matching events in each (cells without events are left out)."""
    e = events.c
    bounds = func.ST_Transform(
        func.ST_MakeEnvelope(
            *(literal(v, Float) for v in (box.min_lon, box.min_lat, box.max_lon, box.max_lat)),
            4326,
        ),
        3857,
    )
    cell = GRID_FUNCTIONS[shape](literal(size_m, Float), bounds).table_valued("geom", "i", "j")
    cell = cell.alias("cell")
    cells = select(cell.c.geom, cell.c.i, cell.c.j).cte("cells")
    # The cell's box in lon/lat lets the GiST index on events.geom find candidates; the exact
    # test is then done in the grid's own projection.
    # A point on an edge shared by two cells is kept in the first of them by (i, j) only.
    rank = func.row_number().over(partition_by=e.id, order_by=(cells.c.i, cells.c.j))
    touching = (
        select(e.fatalities, cells.c.i, cells.c.j, rank.label("rank"))
        .select_from(
            cells.join(
                events,
                and_(
                    e.geom.op("&&", is_comparison=True)(func.ST_Transform(cells.c.geom, 4326)),
                    func.ST_Intersects(cells.c.geom, func.ST_Transform(e.geom, 3857)),
                ),
            )
        )
        .where(and_(true(), *event_conditions(f)))
        .subquery("touching")
    )
    hit = select(touching).where(touching.c.rank == 1).cte("hit")
    counted = (
        select(
            hit.c.i,
            hit.c.j,
            func.count().label("count"),
            _reported_fatalities(hit.c.fatalities).label("fatalities"),
        )
        .group_by(hit.c.i, hit.c.j)
        .cte("counted")
    )
    properties = json_object(
        {
            "i": counted.c.i,
            "j": counted.c.j,
            "count": counted.c.count,
            "fatalities": counted.c.fatalities,
        }
    )
    feature = feature_json(
        properties,
        func.ST_Transform(cells.c.geom, 4326),
        func.to_json(func.concat(counted.c.i, ":", counted.c.j)),
    )
    return (
        select(feature.label("feature"))
        .select_from(counted.join(cells, and_(cells.c.i == counted.c.i, cells.c.j == counted.c.j)))
        .order_by(counted.c.i, counted.c.j)
    )
