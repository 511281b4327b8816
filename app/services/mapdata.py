"""Read use-cases for map front-ends: vector tiles and aggregates (resolve, run, shape).

Nothing here knows about HTTP; the statements come from ``app.store.queries.tiles`` and
``app.store.queries.stats``.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import InvalidParameter
from app.domain.filters import BBox, EventFilter
from app.geo.tiles import HALF_WORLD_M, MAX_LAT, Tile
from app.services.reads import resolve_filter
from app.store import repository
from app.store.queries import stats as stats_sql
from app.store.queries import tiles as tile_sql


async def event_tile(engine: AsyncEngine, f: EventFilter, t: Tile, max_features: int) -> bytes:
    """The MVT bytes of one tile (empty when nothing matches)."""
    f = await resolve_filter(engine, f)
    data = await repository.fetch_scalar(engine, tile_sql.event_tile(f, t, max_features))
    return bytes(data or b"")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def bucket_end(start: datetime, interval: str) -> datetime:
    """The first instant after a bucket that starts at ``start``."""
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month, day=1)


async def timeline(
    engine: AsyncEngine, f: EventFilter, interval: str, by: str | None
) -> dict[str, Any]:
    """Counts and reported fatalities per bucket of ``occurred_at``, optionally split by ``by``."""
    f = await resolve_filter(engine, f)
    rows = await repository.fetch_rows(engine, stats_sql.timeline(f, interval, by))
    buckets: dict[datetime, dict[str, Any]] = {}
    for row in rows:
        start, key, count, fatalities = tuple(row)
        bucket = buckets.setdefault(
            start,
            {
                "start": _iso(start),
                "end": _iso(bucket_end(start, interval)),
                "count": 0,
                "fatalities": None,
            },
        )
        bucket["count"] += count
        if fatalities is not None:
            bucket["fatalities"] = (bucket["fatalities"] or 0) + fatalities
        if by is not None:
            bucket.setdefault("groups", {})[key] = {"count": count, "fatalities": fatalities}
    return {
        "interval": interval,
        "by": by,
        "total": sum(b["count"] for b in buckets.values()),
        "buckets": list(buckets.values()),
    }


async def region_counts(engine: AsyncEngine, f: EventFilter, kind: str) -> dict[str, Any]:
    f = await resolve_filter(engine, f)
    rows = await repository.fetch_rows(engine, stats_sql.region_counts(f, kind))
    keys = ("id", "slug", "name", "country_code", "count", "fatalities")
    return {"kind": kind, "regions": [dict(zip(keys, row, strict=True)) for row in rows]}


def feature_collection(features: list[str], members: dict[str, Any]) -> bytes:
    """A FeatureCollection around Feature texts written by PostGIS, with extra members first."""
    head = orjson.dumps({"type": "FeatureCollection", **members})[:-1]
    return head + b',"features":[' + ",".join(features).encode() + b"]}"


async def region_features(engine: AsyncEngine, f: EventFilter, kind: str) -> bytes:
    f = await resolve_filter(engine, f)
    rows = await repository.fetch_rows(engine, stats_sql.region_features(f, kind))
    return feature_collection([row[0] for row in rows], {"kind": kind})


@dataclass(frozen=True)
class Grid:
    """A binning request, checked: the box (clamped to Web Mercator's latitudes), the cell
    size in EPSG:3857 metres that is ``size_km`` on the ground at the box's middle latitude."""

    box: BBox
    size_km: float
    size_m: float
    shape: str


def mercator_y(lat: float) -> float:
    return HALF_WORLD_M / math.pi * math.asinh(math.tan(math.radians(lat)))


def plan_grid(box: BBox | None, size_km: float, shape: str, max_cells: int) -> Grid:
    """Check a grid request; 400 for a missing or antimeridian-crossing box or too many cells."""
    if box is None:
        raise InvalidParameter("bbox", "is required: the area to bin")
    if box.crosses_antimeridian:
        raise InvalidParameter("bbox", "a box crossing the antimeridian cannot be binned; split it")
    south, north = max(box.min_lat, -MAX_LAT), min(box.max_lat, MAX_LAT)
    if south >= north or box.min_lon >= box.max_lon:
        raise InvalidParameter("bbox", "the box has no area within Web Mercator's latitudes")
    clamped = BBox(box.min_lon, south, box.max_lon, north)
    # Web Mercator stretches distances by 1/cos(latitude): cells are size_km wide on the
    # ground at the box's middle latitude (and a little smaller north of it, larger south).
    size_m = size_km * 1000.0 / math.cos(math.radians((south + north) / 2))
    width = (box.max_lon - box.min_lon) / 180.0 * HALF_WORLD_M
    height = mercator_y(north) - mercator_y(south)
    cells = (math.floor(width / size_m) + 2) * (math.floor(height / size_m) + 2)
    if cells > max_cells:
        raise InvalidParameter(
            "size",
            f"{size_km:g} km makes about {cells} cells over this bbox; at most {max_cells} "
            "are computed: use a larger size or a smaller bbox",
        )
    return Grid(clamped, size_km, size_m, shape)


async def grid_features(engine: AsyncEngine, f: EventFilter, grid: Grid) -> bytes:
    """Cells with their counts as a GeoJSON FeatureCollection."""
    f = await resolve_filter(engine, f)
    stmt = stats_sql.grid_features(f, grid.box, grid.size_m, grid.shape)
    rows = await repository.fetch_rows(engine, stmt)
    members = {"shape": grid.shape, "size_km": grid.size_km, "bbox": list(_box(grid.box))}
    return feature_collection([row[0] for row in rows], members)


def _box(box: BBox) -> tuple[float, float, float, float]:
    return box.min_lon, box.min_lat, box.max_lon, box.max_lat
