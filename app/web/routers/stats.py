"""/stats: aggregates of the events, computed in PostgreSQL, with the filters of /events."""

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.services import mapdata
from app.web.params.common import forbid_unknown_params
from app.web.params.stats import (
    LIVE_FILTER_PARAMETERS,
    AdminKindQuery,
    GroupByQuery,
    IntervalQuery,
    LiveFilter,
    ShapeQuery,
    SizeQuery,
    StatsFormat,
)
from app.web.responses import cached_body
from app.web.routers.deps import AppSettings, Engine

router = APIRouter(tags=["stats"], dependencies=[Depends(forbid_unknown_params)])
JSON, GEOJSON = "application/json", "application/geo+json"
FILTERS_DOC = (
    " Filters are those of `/events` (`bbox`, `datetime`, `event_type`, `verification`, "
    "`place`, `within`, `near` + `radius`, `source`, `actor`, `min_fatalities`, `q`, …), "
    "so a count covers exactly the events `/events` lists for the same parameters."
)


@router.get(
    "/stats/timeline",
    summary="Event counts and fatalities per day, week or month",
    description=(
        "Each event counts once, in the UTC bucket of its start (`occurred_at`); `fatalities` "
        "sums the reported counts (null when no event in the bucket reports one). Buckets "
        "without events are left out. With `by`, each bucket also has `groups`." + FILTERS_DOC
    ),
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses={200: {"content": {JSON: {}}}},
)
async def timeline(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    f: LiveFilter,
    interval: IntervalQuery = "day",
    by: GroupByQuery = None,
) -> Response:
    doc = await mapdata.timeline(engine, f, interval, by)
    return cached_body(request, orjson.dumps(doc), JSON, settings.cache_max_age)


@router.get(
    "/stats/regions",
    summary="Event counts per region (JSON, or GeoJSON boundaries for choropleths)",
    description=(
        "Every place of the chosen `kind` that has a boundary, with the number of matching "
        "events whose point lies inside it (like `within`), most first. Regions share borders "
        "only approximately: a point on a border can count in both." + FILTERS_DOC
    ),
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses={200: {"content": {JSON: {}, GEOJSON: {}}}},
)
async def regions(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    f: LiveFilter,
    kind: AdminKindQuery = "region",
    fmt: StatsFormat = "json",
) -> Response:
    if fmt == "geojson":
        body = await mapdata.region_features(engine, f, kind)
        return cached_body(request, body, GEOJSON, settings.cache_max_age)
    doc = await mapdata.region_counts(engine, f, kind)
    return cached_body(request, orjson.dumps(doc), JSON, settings.cache_max_age)


@router.get(
    "/stats/grid",
    summary="Event counts in square or hexagonal cells over a bbox (GeoJSON)",
    description=(
        "Cells from PostGIS `ST_SquareGrid`/`ST_HexagonGrid` in Web Mercator (EPSG:3857), "
        "scaled by 1/cos(latitude) so that a cell is `size` km across on the ground at the "
        "middle latitude of `bbox` (required); only cells holding matching events are "
        "returned, with `count` and reported `fatalities`. Events outside `bbox` are not "
        "counted, so edge cells cover part of their area." + FILTERS_DOC
    ),
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def grid(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    f: LiveFilter,
    size: SizeQuery = 10.0,
    shape: ShapeQuery = "hexagon",
) -> Response:
    plan = mapdata.plan_grid(f.bbox, size, shape, settings.grid_max_cells)
    body = await mapdata.grid_features(engine, f, plan)
    return cached_body(request, body, GEOJSON, settings.cache_max_age)
