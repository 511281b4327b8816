"""Tile-space SQL shared by the tile statements: which events a tile holds, where they fall in
it (fractions, cells) and their geometry in MVT units."""

from typing import Any

from sqlalchemy import Float, Integer, func, literal
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import BBox
from app.geo.tiles import EXTENT, Tile
from app.store.models import Event
from app.store.queries.common import bbox_clause

events = Event.__table__
BUFFER = 64  # tile units kept around the edge, so symbols near it are not cut


def iso_utc(moment: ColumnElement[Any]) -> ColumnElement[str]:
    """RFC 3339 text in UTC (a tile has no timestamp type)."""
    return func.to_char(func.timezone("UTC", moment), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def sql_float(value: float) -> ColumnElement[float]:
    return literal(value, Float)


def sql_int(value: int) -> ColumnElement[int]:
    return literal(value, Integer)


def in_tile(t: Tile) -> list[ColumnElement[bool]]:
    """Points in the tile: the tile's box, which the GiST index answers, then its exact edges
    (``&&`` compares float4-rounded boxes, which reach a little past them)."""
    return [bbox_clause(events.c.geom, BBox(*t.lonlat_bounds())), *in_tile_exact(t)]


def envelope(t: Tile) -> ColumnElement[Any]:
    return func.ST_TileEnvelope(sql_int(t.z), sql_int(t.x), sql_int(t.y))


def mvt_geom(geom_3857: ColumnElement[Any], t: Tile) -> ColumnElement[Any]:
    return func.ST_AsMVTGeom(geom_3857, envelope(t), EXTENT, BUFFER, True)


def tile_point(t: Tile) -> ColumnElement[Any]:
    """The event's point in tile units, as ST_AsMVTGeom would snap it: the tile holds only its
    own points (``in_tile``), so there is nothing to clip and no need to reproject."""
    fx, fy = tile_fraction(t)
    return func.ST_MakePoint(func.round(fx * EXTENT), func.round(fy * EXTENT))


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


def in_tile_exact(t: Tile) -> list[ColumnElement[bool]]:
    """Points in the tile, half-open (west and north edges in, east and south edges out, but
    for the world's last column and row), so every point is in exactly one tile of a zoom;
    without an index box, for scans that find their rows by another index."""
    west, south, east, north = t.lonlat_bounds()
    x, y = func.ST_X(events.c.geom), func.ST_Y(events.c.geom)
    return [
        x >= sql_float(west),
        x <= sql_float(east) if t.is_last_column else x < sql_float(east),
        y <= sql_float(north),
        y >= sql_float(south) if t.is_last_row else y > sql_float(south),
    ]
