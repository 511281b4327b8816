"""Query parameters of the places collection and the gazetteer search."""

import re
from typing import Annotated, Literal

from fastapi import Depends, Query

from app.domain.errors import InvalidParameter
from app.domain.filters import BBox, Page, PlaceFilter, SortKey
from app.domain.parsing import parse_csv_list
from app.domain.vocab import PlaceKind, values
from app.web.params.common import (
    AppSettings,
    CursorQuery,
    LimitQuery,
    bbox_param,
    make_page,
    near_radius,
    non_empty_text,
)

PLACE_SORT = (SortKey("id"),)
COUNTRY_CODE = re.compile("[A-Za-z]{2}")
MAX_SEARCH_HITS = 100

QueryText = Annotated[
    str | None,
    Query(
        description=(
            "A place name in any script or spelling (`Demydivka`, `Демидовка`, `sudža`); small "
            "typos are tolerated. Results are ranked best first, each with its admin path. It "
            "needs a letter (Latin or Cyrillic) or a digit."
        ),
        examples=["Demydivka"],
    ),
]


async def place_page(
    settings: AppSettings, limit: LimitQuery = None, cursor: CursorQuery = None
) -> Page:
    return make_page(settings, limit, cursor, PLACE_SORT, {"id": int})


async def place_filter(
    bbox: Annotated[BBox | None, Depends(bbox_param)],
    circle: Annotated[tuple[tuple[float, float] | None, float | None], Depends(near_radius)],
    kind: Annotated[
        str | None,
        Query(description="Comma list of place kinds.", examples=["settlement,district"]),
    ] = None,
    country: Annotated[
        str | None,
        Query(description="Comma list of ISO 3166-1 alpha-2 codes.", examples=["RU,UA"]),
    ] = None,
    within: Annotated[
        str | None,
        Query(
            description="Places inside this region's boundary: an id, a slug or a name.",
            examples=["Belgorod Oblast"],
        ),
    ] = None,
    geometry: Annotated[
        Literal["point", "boundary"],
        Query(
            description="`point` (default) or `boundary`: the polygon where one is known.",
            examples=["boundary"],
        ),
    ] = "point",
    q: QueryText = None,
) -> PlaceFilter:
    kinds = parse_csv_list(kind, "kind", values(PlaceKind)) if kind is not None else ()
    countries = parse_csv_list(country, "country") if country is not None else ()
    if bad := [code for code in countries if not COUNTRY_CODE.fullmatch(code)]:
        raise InvalidParameter("country", f"{bad[0]!r} is not an ISO 3166-1 alpha-2 code")
    countries = tuple(dict.fromkeys(code.upper() for code in countries))
    near, radius_m = circle
    return PlaceFilter(
        bbox=bbox,
        kinds=kinds,
        country_codes=countries,
        query=non_empty_text(q, "q"),
        within=non_empty_text(within, "within"),
        near=near,
        radius_m=radius_m,
        boundary=geometry == "boundary",
    )


async def search_filter(f: Annotated[PlaceFilter, Depends(place_filter)]) -> PlaceFilter:
    """/places/search: the same filters, with the query required."""
    if f.query is None:
        raise InvalidParameter("q", "is required: the name to search for")
    return f


async def search_page(
    settings: AppSettings,
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_SEARCH_HITS, description="How many hits to return.", examples=[10]),
    ] = 10,
) -> Page:
    return make_page(settings, limit, None, PLACE_SORT, {"id": int})
