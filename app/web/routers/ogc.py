"""OGC API – Features Part 1 (Core, GeoJSON, HTML, OAS 3.0) and Part 3 queryables."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.domain.errors import NotFound
from app.domain.filters import EventQuery, Page, PlaceFilter
from app.geo import catalog
from app.services import reads
from app.web import html, responses, views
from app.web.params.common import crs84_only, forbid_unknown_params
from app.web.params.events import QUERY_PARAMETERS, event_query
from app.web.params.places import place_filter, place_page
from app.web.problems import MERGED_RESPONSE
from app.web.responses import GEOJSON_RESPONSES
from app.web.routers.deps import (
    AppSettings,
    DocumentFormat,
    Engine,
    FeatureFormat,
    PageFormat,
    PlacesFormat,
)

router = APIRouter(tags=["OGC API - Features"], dependencies=[Depends(forbid_unknown_params)])
CollectionId = Annotated[str, Path(description="`events` or `places`", examples=["events"])]
JSON_OR_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/html": {}}}
}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _known(collection_id: str) -> str:
    if collection_id not in catalog.COLLECTIONS:
        known = ", ".join(catalog.COLLECTIONS)
        raise NotFound(f"No collection {collection_id!r}; the collections are: {known}.")
    return collection_id


@router.get("/", summary="Landing page", responses=JSON_OR_HTML, response_class=Response)
async def landing(request: Request, fmt: DocumentFormat) -> Response:
    doc = catalog.landing(base_url(request))
    return responses.json_or_html(request, doc, fmt, html.landing_page)


@router.get(
    "/conformance", summary="Conformance classes", responses=JSON_OR_HTML, response_class=Response
)
async def conformance(request: Request, fmt: DocumentFormat) -> Response:
    return responses.json_or_html(request, catalog.conformance(), fmt, html.conformance_page)


@router.get(
    "/collections", summary="The collections", responses=JSON_OR_HTML, response_class=Response
)
async def collections(request: Request, engine: Engine, fmt: DocumentFormat) -> Response:
    doc = catalog.collections(base_url(request), await reads.extents(engine))
    return responses.json_or_html(request, doc, fmt, html.collections_page)


@router.get(
    "/collections/{collection_id}",
    summary="One collection, with its spatial and temporal extent",
    responses={**JSON_OR_HTML, 404: {"description": "No such collection"}},
    response_class=Response,
)
async def collection(
    request: Request, engine: Engine, fmt: DocumentFormat, collection_id: CollectionId
) -> Response:
    cid = _known(collection_id)
    doc = catalog.collection(base_url(request), cid, (await reads.extents(engine))[cid])
    return responses.json_or_html(request, doc, fmt, html.collection_page)


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Properties that can filter the items (JSON Schema)",
    responses={200: {"content": {"application/schema+json": {}, "text/html": {}}}},
    response_class=Response,
)
async def queryables(
    request: Request, fmt: DocumentFormat, collection_id: CollectionId
) -> Response:
    doc = catalog.queryables(base_url(request), _known(collection_id))
    return responses.json_or_html(
        request, doc, fmt, html.queryables_page, media_type="application/schema+json"
    )


@router.get(
    "/collections/events/items",
    summary="Events (same filters as /events)",
    response_class=Response,
    dependencies=[Depends(crs84_only)],
    openapi_extra=QUERY_PARAMETERS,
    responses=GEOJSON_RESPONSES,
)
async def event_items(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: PageFormat,
    query: Annotated[EventQuery, Depends(event_query)],
) -> Response:
    return await views.events_page(request, engine, query, fmt, settings)


@router.get(
    "/collections/events/items/{event_id}",
    summary="One event",
    response_class=Response,
    dependencies=[Depends(crs84_only)],
    responses={**GEOJSON_RESPONSES, 404: {"description": "No such event"}, **MERGED_RESPONSE},
)
async def event_item(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: FeatureFormat,
    # Named as the write routes on this path name it: one path in the OpenAPI document.
    event_id: Annotated[int, Path(description="Event id", examples=[1])],
) -> Response:
    return await views.event_feature(request, engine, event_id, fmt, settings)


@router.get(
    "/collections/places/items",
    summary="Places (same filters as /places)",
    response_class=Response,
    dependencies=[Depends(crs84_only)],
    responses=GEOJSON_RESPONSES,
)
async def place_items(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: PlacesFormat,
    f: Annotated[PlaceFilter, Depends(place_filter)],
    page: Annotated[Page, Depends(place_page)],
) -> Response:
    return await views.places_page(request, engine, f, page, fmt, settings)


@router.get(
    "/collections/places/items/{feature_id}",
    summary="One place",
    response_class=Response,
    dependencies=[Depends(crs84_only)],
    responses={**GEOJSON_RESPONSES, 404: {"description": "No such place"}},
)
async def place_item(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: FeatureFormat,
    feature_id: Annotated[str, Path(description="Place id or slug", examples=["sudzha"])],
) -> Response:
    return await views.place_feature(request, engine, feature_id, fmt, settings)
