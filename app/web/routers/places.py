"""/places: the gazetteer."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.domain.filters import Page, PlaceFilter
from app.web import views
from app.web.params.common import forbid_unknown_params
from app.web.params.places import place_filter, place_page, search_filter, search_page
from app.web.responses import GEOJSON_RESPONSES
from app.web.routers.deps import AppSettings, Engine, FeatureFormat, PlacesFormat

router = APIRouter(tags=["places"], dependencies=[Depends(forbid_unknown_params)])


@router.get(
    "/places",
    summary="List places of the gazetteer",
    description=(
        "Countries, regions, districts and settlements as GeoJSON points (or boundaries with "
        "`geometry=boundary`), by id. With `q`, the ranked search of `/places/search`."
    ),
    response_class=Response,
    responses=GEOJSON_RESPONSES,
)
async def list_places(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: PlacesFormat,
    f: Annotated[PlaceFilter, Depends(place_filter)],
    page: Annotated[Page, Depends(place_page)],
) -> Response:
    return await views.places_page(request, engine, f, page, fmt, settings)


@router.get(
    "/places/search",
    summary="Find places by any spelling, ranked, with their admin paths",
    description=(
        "Case-, accent- and script-insensitive search over every known spelling, tolerant of "
        "transliteration differences and small typos. Each hit carries `matched_name`, `score` "
        "(1 = exact, 0.8–0.9 = the name starts with the query, else trigram similarity) and "
        "`admin_path`, so places that share a name can be told apart. Weak matches (similarity "
        "below 0.5) are listed only when there is no better one. The "
        "filters of `/places` (`kind`, `country`, `within`, `bbox`, `near`) narrow the hits."
    ),
    response_class=Response,
    responses=GEOJSON_RESPONSES,
)
async def search_places(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: PlacesFormat,
    f: Annotated[PlaceFilter, Depends(search_filter)],
    page: Annotated[Page, Depends(search_page)],
) -> Response:
    return await views.places_page(request, engine, f, page, fmt, settings)


@router.get(
    "/places/{place_key}",
    summary="One place by id or slug, with every known spelling and its admin path",
    response_class=Response,
    responses={**GEOJSON_RESPONSES, 404: {"description": "No such place"}},
)
async def get_place(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    fmt: FeatureFormat,
    place_key: Annotated[str, Path(description="Numeric id or slug", examples=["sudzha"])],
) -> Response:
    return await views.place_feature(request, engine, place_key, fmt, settings)
