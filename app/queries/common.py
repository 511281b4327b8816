"""Clauses and JSON builders shared by every collection."""

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, and_, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from app.filters import BBox

GEOJSON_DECIMALS = 6
MAX_JSON_PAIRS = 50  # PostgreSQL functions take at most 100 arguments


def envelope(box: BBox) -> ColumnElement[bytes]:
    corners = (box.min_lon, box.min_lat, box.max_lon, box.max_lat)
    return func.ST_MakeEnvelope(*(literal(float(v), Float) for v in corners), 4326)


def bbox_clause(geom: ColumnElement[bytes], box: BBox) -> ColumnElement[bool]:
    """Geometries whose bounding box touches the box; exact for points, edges included."""
    return or_(*(geom.op("&&", is_comparison=True)(envelope(part)) for part in box.parts()))


def ts(value: datetime | None) -> ColumnElement[datetime]:
    """A bound timestamptz (typed even when None, so it can stand for an open range end)."""
    return literal(value, DateTime(timezone=True))


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
    geom: ColumnElement[bytes], lon: float, lat: float, radius_m: float
) -> ColumnElement[bool]:
    """Geodesic distance on the WGS84 spheroid (metres-accurate), after an index prefilter."""
    centre = func.ST_SetSRID(func.ST_MakePoint(literal(lon, Float), literal(lat, Float)), 4326)
    geodesic = func.ST_DWithin(
        func.geography(geom), func.geography(centre), literal(radius_m, Float), True
    )
    return and_(bbox_clause(geom, circle_envelope(lon, lat, radius_m)), geodesic)
