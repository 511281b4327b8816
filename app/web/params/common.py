"""What every collection's parameters share: the unknown-parameter check, query models read in
one call (query_model, documented), bbox, near + radius, paging."""

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from app.domain.bodies import DATASET_MAX, SLUG_PATTERN
from app.domain.cursors import decode_cursor, encode_cursor
from app.domain.errors import InvalidParameter
from app.domain.filters import BBox, Page, SortKey
from app.domain.parsing import parse_bbox, parse_point
from app.domain.vocab import CRS84, Crs84
from app.settings import Settings

MAX_RADIUS_KM = 20_000.0


def dataset_query(description: str, example: str) -> Any:
    """A required `dataset` query parameter, checked as a dataset name is everywhere."""
    return Query(pattern=SLUG_PATTERN, max_length=DATASET_MAX, description=description,
                 examples=[example])  # fmt: skip


_allowed_by_route: dict[int, frozenset[str]] = {}


M = TypeVar("M", bound=BaseModel)


def query_model(request: Request, model: type[M]) -> M:
    """The request's query parameters validated by one pydantic model, in one call.

    FastAPI's own handling of a query model inspects every field's annotation again on every
    request (0.25 ms of a small page, in-process). A bad value raises the same
    RequestValidationError (`loc` = ("query", name)) that FastAPI would; a repeated name
    keeps its last value, as in FastAPI."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as error:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in error.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads ``model`` with query_model: its fields as the
    operation's query parameters (FastAPI cannot see them), which forbid_unknown_params
    also accepts."""
    properties = model.model_json_schema()["properties"]
    return {"parameters": [
        {"name": name, "in": "query", "required": False,
         "description": schema.get("description", ""), "schema": schema}
        for name, schema in properties.items()
    ]}  # fmt: skip


def _query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route declares, through all its dependencies."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _allowed_params(route: APIRoute) -> frozenset[str]:
    key = id(route)
    if key not in _allowed_by_route:
        extra = (route.openapi_extra or {}).get("parameters", [])
        documented_names = {p["name"] for p in extra if p.get("in") == "query"}
        _allowed_by_route[key] = _query_names(route.dependant) | documented_names
    return _allowed_by_route[key]


async def forbid_unknown_params(request: Request) -> None:
    """Unknown query parameters are an error (OGC API rule), never silently ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _allowed_params(route)
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise InvalidParameter(name, "must not contain NUL characters")
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise InvalidParameter(name, f"unknown query parameter; this endpoint accepts: {known}")


BBOX_DOC = (
    "Bounding box `minLon,minLat,maxLon,maxLat` in WGS84 degrees (6 numbers with heights are "
    "accepted; heights are ignored). `minLon > maxLon` crosses the antimeridian."
)
BBOX_EXAMPLE = "35.0,50.8,35.8,51.3"
DATETIME_DOC = (
    "An RFC 3339 instant (`2025-03-17T10:00:00Z`), a date (`2025-03-17`, that whole UTC day) "
    "or an interval `start/end` with `..` or nothing for an open end. An event matches when "
    "its time span intersects it."
)
DATETIME_EXAMPLE = "2025-03-01/2025-03-31"
NEAR_DOC = "`lon,lat` centre of a geodesic circle; needs `radius`."
RADIUS_DOC = "Radius in kilometres around `near` (geodesic, on the WGS84 ellipsoid)."
LIMIT_DOC = "Features per page (default 100; the maximum is in the OpenAPI schema)."
CURSOR_DOC = "Opaque paging token taken from a `next` or `prev` link."
# A cursor the places collection (sorted by id) could have issued: the page after id 10.
CURSOR_EXAMPLE = encode_cursor((SortKey("id"),), (10,), backward=False)


async def crs84_only(
    crs: Annotated[
        Crs84 | None,
        Query(
            description="The CRS of the answer's coordinates: CRS84 (the only one offered, "
            "as the collection's `crs` list says).",
            examples=[CRS84],
        ),
    ] = None,
    bbox_crs: Annotated[
        Crs84 | None,
        Query(alias="bbox-crs", description="The CRS of `bbox`: CRS84 only.", examples=[CRS84]),
    ] = None,
) -> None:
    """`crs` and `bbox-crs` (OGC API – Features Part 2), which GDAL 3.12 sends because the
    collections list their CRS: CRS84, the only one, is accepted; another is a 400."""


BBoxText = Annotated[str | None, Query(description=BBOX_DOC, examples=[BBOX_EXAMPLE])]


async def near_radius(
    near: Annotated[str | None, Query(description=NEAR_DOC, examples=["35.2726,51.1976"])] = None,
    radius: Annotated[float | None, Query(description=RADIUS_DOC, examples=[10])] = None,
) -> tuple[tuple[float, float] | None, float | None]:
    return circle_of(near, radius)


def circle_of(
    near: str | None, radius: float | None
) -> tuple[tuple[float, float] | None, float | None]:
    """`near` + `radius` (km) as a centre and a radius in metres; either alone is a 400."""
    if near is None and radius is None:
        return None, None
    if near is None:
        raise InvalidParameter("near", "`radius` needs a centre: near=lon,lat")
    if radius is None:
        raise InvalidParameter("radius", "`near` needs a radius in kilometres")
    if not 0 < radius <= MAX_RADIUS_KM:
        raise InvalidParameter("radius", f"must be greater than 0 and at most {MAX_RADIUS_KM:g} km")
    return parse_point(near), radius * 1000.0


def non_empty_text(text: str | None, parameter: str) -> str | None:
    """Stripped text, or a 400 for an empty value or a NUL (PostgreSQL text cannot hold one)."""
    if text is None:
        return None
    if not text.strip():
        raise InvalidParameter(parameter, "must not be empty")
    if "\x00" in text:
        raise InvalidParameter(parameter, "must not contain NUL characters")
    return text.strip()


async def bbox_param(bbox: BBoxText = None) -> BBox | None:
    return parse_bbox(bbox) if bbox is not None else None


LimitQuery = Annotated[int | None, Query(ge=1, description=LIMIT_DOC, examples=[100])]
CursorQuery = Annotated[str | None, Query(description=CURSOR_DOC, examples=[CURSOR_EXAMPLE])]


def make_page(
    settings: Settings,
    limit: int | None,
    cursor: str | None,
    sort: tuple[SortKey, ...],
    types: Mapping[str, type],
) -> Page:
    size = settings.default_limit if limit is None else limit
    if size > settings.max_limit:
        raise InvalidParameter("limit", f"must be at most {settings.max_limit}")
    decoded = decode_cursor(cursor, sort, types) if cursor is not None else None
    return Page(limit=size, cursor=decoded, sort=sort)


async def settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(settings_dep)]
