"""Vector tiles of the events: XYZ + TileJSON, and the same tiles as OGC API – Tiles."""

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import NotFound
from app.domain.filters import EventFilter
from app.geo import tilesets
from app.geo.tiles import WEB_MERCATOR_QUAD, Tile, tile, tile_matrix_set
from app.services import mapdata, reads
from app.settings import Settings
from app.web.params.common import forbid_unknown_params
from app.web.params.stats import LIVE_FILTER_PARAMETERS, LiveFilter
from app.web.responses import cached, cached_body, etag_of_bytes
from app.web.routers.deps import AppSettings, Engine

router = APIRouter(tags=["tiles"], dependencies=[Depends(forbid_unknown_params)])
JSON = "application/json"
TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A Mapbox vector tile", "content": {tilesets.MVT: {}}},
    204: {"description": "No matching event in the tile (an empty tile)"},
    304: {"description": "Not modified (the `If-None-Match` ETag still holds)"},
    404: {"description": "The tile address is outside the tile matrix set"},
}
TILE_DOC = (
    "Events as a Mapbox vector tile made by PostGIS (`ST_AsMVT`). Layer `events` has one point "
    "per matching event (properties `id`, `title`, `event_type`, `verification`, "
    "`occurred_at`, `occurred_until`, `time_precision`, `place_name`, `source_count`, "
    "`fatalities`); when more events than the configured maximum fall in the tile, layer "
    "`event_cells` has their counts per grid cell instead (`count`, `fatalities`, `first_at`, "
    "`last_at`). Filters are those of `/events`; a tile with no match is a 204."
)
Z = Annotated[int, Path(description="Zoom level, 0..24", examples=[6])]
# Documents are JSON only; `f=json` is accepted so that links from the HTML pages work.
JsonFormat = Annotated[
    Literal["json"] | None, Query(alias="f", description="Only `json`.", examples=["json"])
]
X = Annotated[int, Path(description="Column, 0..2^z-1 from the west", examples=[38])]
Y = Annotated[int, Path(description="Row, 0..2^z-1 from the north", examples=[21])]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _filters(request: Request) -> str:
    """The request's event filters, to carry into tile URLs (without the document's `f`)."""
    return request.url.remove_query_params("f").query


async def _tile(
    request: Request, engine: AsyncEngine, settings: Settings, f: EventFilter, address: Tile
) -> Response:
    data = await mapdata.event_tile(engine, f, address, settings.tile_max_features)

    def build() -> Response:
        if not data:
            return Response(status_code=204)
        return Response(data, media_type=tilesets.MVT)

    return cached(request, etag_of_bytes([data], tilesets.MVT), settings.cache_max_age, build)


def _json(request: Request, doc: dict[str, Any], max_age: int) -> Response:
    return cached_body(request, orjson.dumps(doc), JSON, max_age)


@router.get(
    "/tiles/events/{z}/{x}/{y}.mvt",
    summary="A vector tile of the events (XYZ)",
    description=TILE_DOC,
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses=TILE_RESPONSES,
)
async def event_tile(
    request: Request, engine: Engine, settings: AppSettings, f: LiveFilter, z: Z, x: X, y: Y
) -> Response:
    return await _tile(request, engine, settings, f, tile(z, x, y))


@router.get(
    "/tiles/events.json",
    summary="TileJSON of the event tiles",
    description="TileJSON 3.0.0; the filters given here are carried into the tile URL.",
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses={200: {"content": {JSON: {}}}},
)
async def event_tilejson(
    request: Request, engine: Engine, settings: AppSettings, f: LiveFilter, fmt: JsonFormat = None
) -> Response:
    await reads.resolve_filter(engine, f)  # an unknown place is a 400 here, not in every tile
    bounds = (await reads.extents(engine))["events"].bbox
    doc = tilesets.tilejson(base_url(request), _filters(request), bounds)
    return _json(request, doc, settings.cache_max_age)


@router.get(
    "/collections/events/tiles",
    summary="The tilesets of the events (OGC API – Tiles)",
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses={200: {"content": {JSON: {}}}},
)
async def event_tilesets(
    request: Request, settings: AppSettings, f: LiveFilter, fmt: JsonFormat = None
) -> Response:
    doc = tilesets.tilesets(base_url(request), _filters(request))
    return _json(request, doc, settings.cache_max_age)


def _known_tms(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != WEB_MERCATOR_QUAD:
        raise NotFound(
            f"No tile matrix set {tile_matrix_set_id!r}; the one offered is {WEB_MERCATOR_QUAD}."
        )


TmsId = Annotated[str, Path(description="Tile matrix set", examples=[WEB_MERCATOR_QUAD])]


@router.get(
    "/collections/events/tiles/{tile_matrix_set_id}",
    summary="The WebMercatorQuad tileset of the events (OGC API – Tiles)",
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses={200: {"content": {JSON: {}}}, 404: {"description": "No such tile matrix set"}},
)
async def event_tileset(
    request: Request,
    settings: AppSettings,
    f: LiveFilter,
    tile_matrix_set_id: TmsId,
    fmt: JsonFormat = None,
) -> Response:
    _known_tms(tile_matrix_set_id)
    doc = tilesets.tileset(base_url(request), _filters(request))
    return _json(request, doc, settings.cache_max_age)


@router.get(
    "/collections/events/tiles/{tile_matrix_set_id}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile of the events (OGC API – Tiles)",
    description=TILE_DOC,
    response_class=Response,
    openapi_extra=LIVE_FILTER_PARAMETERS,
    responses=TILE_RESPONSES,
)
async def event_ogc_tile(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    f: LiveFilter,
    tile_matrix_set_id: TmsId,
    tile_matrix: Annotated[int, Path(alias="tileMatrix", description="Zoom level", examples=[6])],
    tile_row: Annotated[
        int, Path(alias="tileRow", description="Row from the north", examples=[21])
    ],
    tile_col: Annotated[
        int, Path(alias="tileCol", description="Column from the west", examples=[38])
    ],
) -> Response:
    _known_tms(tile_matrix_set_id)
    address = tile(tile_matrix, tile_col, tile_row, names=("tileMatrix", "tileCol", "tileRow"))
    return await _tile(request, engine, settings, f, address)


@router.get(
    "/tileMatrixSets",
    summary="The tile matrix sets offered (OGC API – Tiles)",
    response_class=Response,
    responses={200: {"content": {JSON: {}}}},
)
async def tile_matrix_sets(request: Request, fmt: JsonFormat = None) -> Response:
    return _json(request, tilesets.tile_matrix_sets(base_url(request)), 3600)


@router.get(
    "/tileMatrixSets/{tile_matrix_set_id}",
    summary="A tile matrix set definition (OGC 2D Tile Matrix Set 2.0)",
    response_class=Response,
    responses={200: {"content": {JSON: {}}}, 404: {"description": "No such tile matrix set"}},
)
async def tile_matrix_set_doc(
    request: Request, tile_matrix_set_id: TmsId, fmt: JsonFormat = None
) -> Response:
    _known_tms(tile_matrix_set_id)
    return _json(request, tile_matrix_set(), 3600)
