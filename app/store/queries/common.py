"""Clauses and JSON builders shared by every collection."""

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, and_, bindparam, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from app.domain.filters import BBox

GEOJSON_DECIMALS = 6
MAX_JSON_PAIRS = 50  # PostgreSQL functions take at most 100 arguments


def param(name: str | None, value: Any, type_: TypeEngine[Any] | None = None) -> ColumnElement[Any]:
    """A bound value. A named one can take another value when its statement runs again: page
    statements are cached by shape (app.store.queries.shapes) and each request passes its values by
    name. Unnamed ones are for statements built per request."""
    if name is None:
        return literal(value, type_)
    return bindparam(name, value, type_=type_)


def corners(box: BBox) -> dict[str, float]:
    return {"west": box.min_lon, "south": box.min_lat, "east": box.max_lon, "north": box.max_lat}


def corner_params(box: BBox, name: str | None = None) -> dict[str, ColumnElement[float]]:
    """The box's corners as bound values (named ``{name}_west``…, as ``bbox_values`` says)."""
    return {c: param(name and f"{name}_{c}", float(v), Float()) for c, v in corners(box).items()}


def envelope(box: BBox, name: str | None = None) -> ColumnElement[bytes]:
    return func.ST_MakeEnvelope(*corner_params(box, name).values(), 4326)


def bbox_clause(
    geom: ColumnElement[bytes], box: BBox, name: str | None = None
) -> ColumnElement[bool]:
    """Geometries whose bounding box touches the box; exact for points, edges included."""
    touches = geom.op("&&", is_comparison=True)
    return or_(*(touches(envelope(p, name and f"{name}{i}")) for i, p in enumerate(box.parts())))


def bbox_values(box: BBox, name: str) -> dict[str, float]:
    """The values ``bbox_clause(geom, box, name)`` binds."""
    return {
        f"{name}{i}_{c}": float(v)
        for i, part in enumerate(box.parts())
        for c, v in corners(part).items()
    }


def ts(value: datetime | None, name: str | None = None) -> ColumnElement[datetime]:
    """A bound timestamptz (typed even when None, so it can stand for an open range end)."""
    return param(name, value, DateTime(timezone=True))


def json_object(pairs: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """json_build_object over name/expression pairs, keeping their order."""
    if len(pairs) > MAX_JSON_PAIRS:
        raise ValueError(f"json_object takes at most {MAX_JSON_PAIRS} pairs")
    return func.json_build_object(*[arg for name, expr in pairs.items() for arg in (name, expr)])


def feature_json(
    properties: ColumnElement[Any], geom: ColumnElement[bytes], fid: object
) -> ColumnElement[str]:
    """One GeoJSON Feature as text; geometry carries only type and coordinates (RFC 7946)."""
    return func.concat(
        '{"type":"Feature","id":',
        fid,
        ',"geometry":',
        func.ST_AsGeoJSON(geom, GEOJSON_DECIMALS),
        ',"properties":',
        properties,
        "}",
    )


# Conservative metres per degree (the smallest true values), so the prefilter box is never
# smaller than the geodesic circle it guards.
_M_PER_DEG_LAT = 110_000.0
_M_PER_DEG_LON_EQUATOR = 111_000.0


def circle_envelope(lon: float, lat: float, radius_m: float) -> BBox:
    """A box sure to contain the geodesic circle; lets a GiST index prefilter ST_DWithin."""
    dlat = radius_m / _M_PER_DEG_LAT
    top = min(90.0, abs(lat) + dlat)
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if top >= 89.0:
        return BBox(-180.0, min_lat, 180.0, max_lat)
    dlon = radius_m / (_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(top)))
    if dlon >= 180.0:
        return BBox(-180.0, min_lat, 180.0, max_lat)
    west, east = lon - dlon, lon + dlon
    west = west + 360.0 if west < -180.0 else west
    east = east - 360.0 if east > 180.0 else east
    return BBox(west, min_lat, east, max_lat)


def within_distance(
    geom: ColumnElement[bytes], lon: float, lat: float, radius_m: float, name: str | None = None
) -> ColumnElement[bool]:
    """Geodesic distance on the WGS84 spheroid (metres-accurate), after an index prefilter."""
    x, y = param(name and f"{name}_lon", lon, Float()), param(name and f"{name}_lat", lat, Float())
    centre = func.ST_SetSRID(func.ST_MakePoint(x, y), 4326)
    radius = param(name and f"{name}_m", radius_m, Float())
    geodesic = func.ST_DWithin(func.geography(geom), func.geography(centre), radius, True)
    box = circle_envelope(lon, lat, radius_m)
    return and_(bbox_clause(geom, box, name and f"{name}_box"), geodesic)


def within_values(lon: float, lat: float, radius_m: float, name: str) -> dict[str, float]:
    """The values ``within_distance(..., name)`` binds."""
    box = bbox_values(circle_envelope(lon, lat, radius_m), f"{name}_box")
    return {f"{name}_lon": lon, f"{name}_lat": lat, f"{name}_m": radius_m, **box}
