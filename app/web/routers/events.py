"""/events: the friendly REST face of the events collection."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.domain.filters import EventQuery
from app.web import views
from app.web.params.common import forbid_unknown_params
from app.web.params.events import QUERY_PARAMETERS, AsOfQuery, as_of_param, event_query
from app.web.problems import MERGED_RESPONSE
from app.web.responses import GEOJSON_RESPONSES
from app.web.routers.deps import AppSettings, Engine, ExportFormat, FeatureFormat, PageFormat

router = APIRouter(tags=["events"], dependencies=[Depends(forbid_unknown_params)])
Query = Annotated[EventQuery, Depends(event_query)]

FILTERS_DOC = (
    "Filters compose with AND: `bbox`, `datetime` (intersects each event's time span), "
    "`event_type`, `verification`, `place`, `within`, `near` + `radius`, `source`, `actor`, "
    "`min_fatalities`, `updated_since`, `q`. Unknown parameters are a 400."
)


@router.get(
    "/events",
    summary="Search events by place, time and provenance",
    description=(
        "Matching events as a GeoJSON FeatureCollection (or CSV, NDJSON, HTML), ordered by "
        "`sortby` (default `occurred_at,id`) and paged with an opaque cursor: follow "
        "`links[rel=next]` or the `Link` header. " + FILTERS_DOC
    ),
    response_class=Response,
    openapi_extra=QUERY_PARAMETERS,
    responses=GEOJSON_RESPONSES,
)
async def list_events(
    request: Request, engine: Engine, settings: AppSettings, query: Query, fmt: PageFormat
) -> Response:
    return await views.events_page(request, engine, query, fmt, settings)


@router.get(
    "/events/export",
    summary="Download every matching event (streamed)",
    description=(
        "The same filters and sort as `/events`, without paging: every match is streamed "
        "from a database cursor in flat memory, as GeoJSON, CSV or NDJSON. " + FILTERS_DOC
    ),
    response_class=Response,
    openapi_extra=QUERY_PARAMETERS,
    responses=GEOJSON_RESPONSES,
)
async def export_events(
    engine: Engine, settings: AppSettings, query: Query, fmt: ExportFormat
) -> Response:
    return await views.events_export(engine, query, fmt, settings)


@router.get(
    "/events/{event_id:int}",
    summary="One event with all its citations",
    response_class=Response,
    responses={**GEOJSON_RESPONSES, 404: {"description": "No such event"}, **MERGED_RESPONSE},
)
async def get_event(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: FeatureFormat,
    event_id: Annotated[int, Path(description="Event id", examples=[1])],
    as_of: AsOfQuery = None,
) -> Response:
    when = as_of_param(as_of)
    return await views.event_feature(request, engine, event_id, fmt, settings, when)
