"""Query parameters of the places collection."""

from typing import Annotated

from fastapi import Depends, Query

from app.filters import BBox, Page, PlaceFilter, SortKey
from app.params.common import AppSettings, CursorQuery, LimitQuery, bbox_param, make_page
from app.parsing import parse_csv_list
from app.vocab import PlaceKind, values

PLACE_SORT = (SortKey("id"),)


def place_page(settings: AppSettings, limit: LimitQuery = None, cursor: CursorQuery = None) -> Page:
    return make_page(settings, limit, cursor, PLACE_SORT, {"id": int})


def place_filter(
    bbox: Annotated[BBox | None, Depends(bbox_param)],
    kind: Annotated[
        str | None,
        Query(description="Comma list of place kinds.", examples=["settlement,district"]),
    ] = None,
    country: Annotated[
        str | None,
        Query(description="Comma list of ISO 3166-1 alpha-2 codes.", examples=["RU,UA"]),
    ] = None,
) -> PlaceFilter:
    kinds = parse_csv_list(kind, "kind", values(PlaceKind)) if kind is not None else ()
    countries = parse_csv_list(country.upper(), "country") if country is not None else ()
    return PlaceFilter(bbox=bbox, kinds=kinds, country_codes=countries)
