"""Query parameters of the events collection (the same on /events and OGC items)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query, Request
from pydantic import BaseModel, Field

from app.domain.cql import native_parts, parse_filter
from app.domain.cursors import encode_cursor
from app.domain.filters import BBox, EventFilter, EventQuery, Interval
from app.domain.parsing import (
    parse_bbox,
    parse_csv_list,
    parse_datetime,
    parse_instant,
    parse_sortby,
)
from app.domain.vocab import CRS84, Crs84, EventType, Verification, values
from app.settings import Settings
from app.store.queries.events import EVENT_PROPERTY_NAMES, EVENT_SORT_TYPES, EVENT_SORTABLE
from app.web.params.common import (
    BBOX_DOC,
    BBOX_EXAMPLE,
    CURSOR_DOC,
    DATETIME_DOC,
    DATETIME_EXAMPLE,
    LIMIT_DOC,
    NEAR_DOC,
    RADIUS_DOC,
    circle_of,
    documented,
    make_page,
    non_empty_text,
    query_model,
)

DEFAULT_SORT = "occurred_at,id"
SORTBY_EXAMPLE = "-occurred_at,id"
# A cursor issued for the example sortby: the page after that instant and id.
EVENT_CURSOR_EXAMPLE = encode_cursor(
    parse_sortby(SORTBY_EXAMPLE, list(EVENT_SORTABLE)),
    ("2025-03-10T00:00:00+00:00", 10),
    backward=False,
)
# Computed once: a request pays only for the parameters it sends.
EVENT_TYPES, VERIFICATIONS = values(EventType), values(Verification)
SORTABLE, PROPERTY_NAMES = list(EVENT_SORTABLE), list(EVENT_PROPERTY_NAMES)


def _csv(text: str | None, parameter: str, allowed: list[str] | None = None) -> tuple[str, ...]:
    return parse_csv_list(text, parameter, allowed) if text is not None else ()


AS_OF_DOC = (
    "An RFC 3339 instant: answer with the events as they were known then (later events, "
    "edits and deletions not yet applied), from the revision history."
)
AS_OF_EXAMPLE = "2025-03-19T12:00:00Z"
AsOfQuery = Annotated[str | None, Query(description=AS_OF_DOC, examples=[AS_OF_EXAMPLE])]


class EventFilterParams(BaseModel):
    """The filters of the events collection, validated by pydantic in one call (query_model).

    As a tree of single-parameter dependencies FastAPI spent about a sixth of a small page's
    worker CPU solving them; as a query model handed to FastAPI, still 0.55 ms per request
    (its per-field work: 0.25 ms); read by query_model, 0.35 ms for every dependency."""

    bbox: str | None = Field(None, description=BBOX_DOC, examples=[BBOX_EXAMPLE])
    datetime_: str | None = Field(
        None, alias="datetime", description=DATETIME_DOC, examples=[DATETIME_EXAMPLE]
    )
    near: str | None = Field(None, description=NEAR_DOC, examples=["35.2726,51.1976"])
    radius: float | None = Field(None, description=RADIUS_DOC, examples=[10])
    event_type: str | None = Field(
        None,
        description=f"Comma list of event types: {', '.join(EVENT_TYPES)}.",
        examples=["battle,incursion"],
    )
    verification: str | None = Field(
        None,
        description=f"Comma list of statuses: {', '.join(VERIFICATIONS)}.",
        examples=["claimed,disputed"],
    )
    place: str | None = Field(
        None,
        description="Events tied to this place: an id, a slug or any known spelling "
        "(`Демидовка`, `Demydivka`).",
        examples=["sudzha"],
    )
    within: str | None = Field(
        None,
        description="Events whose point lies in this region's boundary: id, slug or name.",
        examples=["Kursk Oblast"],
    )
    source: str | None = Field(
        None, description="Comma list of source slugs: events cited by any of them.",
        examples=["isw"],
    )  # fmt: skip
    actor: str | None = Field(
        None,
        description="Events with an actor whose name contains this text (case-insensitive).",
        examples=["Ukraine"],
    )
    min_fatalities: int | None = Field(
        None,
        ge=0,
        le=2_147_483_647,  # fatalities is a 32-bit column
        description="Events with at least this many reported fatalities "
        "(unknown counts never match).",
        examples=[1],
    )
    updated_since: str | None = Field(
        None,
        description="Change feed: events changed after this RFC 3339 instant.",
        examples=["2025-03-20T00:00:00Z"],
    )
    changes_after: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Change feed that never skips: events written by transactions from this "
        "token on (0: from the start). The answer holds every such change below the token in "
        "its `Frontline-Changes-Before` header (its links carry it as `changes_before`); poll "
        "next with `changes_after` set to that token.",
        examples=[0],
    )
    changes_before: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="Events written by transactions below this token: the upper bound a "
        "change-feed answer chose, which its `next` links carry. History keeps no transaction "
        "ids, so with `as_of` the change feed matches nothing.",
        examples=[1000],
    )
    include_deleted: bool = Field(
        False,
        description="Also return deleted events, as tombstones (id, `deleted_at`, `version`).",
        examples=[True],
    )
    q: str | None = Field(
        None,
        description="Words to find in the title or description (web-search syntax: "
        '`"exact phrase"`, `-excluded`, `or`).',
        examples=["Demidovka"],
    )
    dataset: str | None = Field(
        None,
        description="Comma list of datasets: events that came from any of them "
        "(`frontline` for those entered here).",
        examples=["acled"],
    )
    external_id: str | None = Field(
        None,
        description="The event's id in its dataset (with `dataset`, one event at most).",
        examples=["UKR12345"],
    )
    filter: str | None = Field(
        None,
        description="A CQL2 expression over the queryables (`/collections/events/queryables`),"
        " ANDed with every other parameter: comparisons, `LIKE`, `BETWEEN`, `IN`, `IS NULL`, "
        "`CASEI`, `S_*` spatial, `T_*` temporal (the span is `INTERVAL(occurred_at, "
        "occurred_until)`) and `A_*` array functions (OGC API – Features Part 3).",
        examples=["fatalities >= 1 AND CASEI(title) LIKE '%sudzha%'"],
    )
    filter_lang: Literal["cql2-text", "cql2-json"] = Field(
        "cql2-text",
        alias="filter-lang",
        description="The language of `filter`.",
        examples=["cql2-text"],
    )
    filter_crs: Crs84 | None = Field(
        None,
        alias="filter-crs",
        description="The CRS of the geometries in `filter`: CRS84 (longitude, latitude) only.",
        examples=[CRS84],
    )


class EventQueryParams(EventFilterParams):
    """The filters plus paging, the properties to return, the count and the time travel."""

    limit: int | None = Field(None, ge=1, description=LIMIT_DOC, examples=[100])
    cursor: str | None = Field(None, description=CURSOR_DOC, examples=[EVENT_CURSOR_EXAMPLE])
    sortby: str | None = Field(
        None,
        description=f"Sort keys, `-` for descending: {', '.join(EVENT_SORTABLE)}.",
        examples=[SORTBY_EXAMPLE],
    )
    properties: str | None = Field(
        None,
        description="Comma list of properties to return (all by default).",
        examples=["title,occurred_at,verification"],
    )
    count: bool = Field(
        False,
        description="Also compute `numberMatched` (one more query; off by default).",
        examples=[True],
    )
    as_of: str | None = Field(None, description=AS_OF_DOC, examples=[AS_OF_EXAMPLE])


FILTER_PARAMETERS = documented(EventFilterParams)
QUERY_PARAMETERS = documented(EventQueryParams)


def filter_of(p: EventFilterParams) -> EventFilter:
    near, radius_m = circle_of(p.near, p.radius)
    bbox = parse_bbox(p.bbox) if p.bbox is not None else None
    interval = parse_datetime(p.datetime_) if p.datetime_ is not None else None
    cql = parse_filter(p.filter, p.filter_lang, p.filter_crs) if p.filter is not None else None
    if cql is not None and bbox is None and interval is None:
        box, span, cql = native_parts(cql)
        bbox = BBox(*box) if box is not None else None
        interval = Interval(*span) if span is not None else None
    return EventFilter(
        bbox=bbox,
        interval=interval,
        event_types=_csv(p.event_type, "event_type", EVENT_TYPES),
        verifications=_csv(p.verification, "verification", VERIFICATIONS),
        place=non_empty_text(p.place, "place"),
        within=non_empty_text(p.within, "within"),
        near=near,
        radius_m=radius_m,
        sources=_csv(p.source, "source"),
        actors=(actor,) if (actor := non_empty_text(p.actor, "actor")) else (),
        min_fatalities=p.min_fatalities,
        updated_since=parse_instant(p.updated_since, "updated_since")
        if p.updated_since is not None
        else None,
        changes_after=p.changes_after,
        changes_before=p.changes_before,
        include_deleted=p.include_deleted,
        text=non_empty_text(p.q, "q"),
        cql=cql,
        datasets=_csv(p.dataset, "dataset"),
        external_id=non_empty_text(p.external_id, "external_id"),
    )


async def event_filter(request: Request) -> EventFilter:
    """The filters (routes using it document them with ``FILTER_PARAMETERS``)."""
    return filter_of(query_model(request, EventFilterParams))


def as_of_param(as_of: str | None) -> datetime | None:
    return parse_instant(as_of, "as_of") if as_of is not None else None


async def event_query(request: Request) -> EventQuery:
    """Filters, page, properties, count and as_of (document with ``QUERY_PARAMETERS``)."""
    params = query_model(request, EventQueryParams)
    settings: Settings = request.app.state.settings
    sort = parse_sortby(DEFAULT_SORT if params.sortby is None else params.sortby, SORTABLE)
    page = make_page(settings, params.limit, params.cursor, sort, EVENT_SORT_TYPES)
    chosen = params.properties
    properties = _csv(chosen, "properties", PROPERTY_NAMES) if chosen is not None else None
    return EventQuery(filter=filter_of(params), page=page, properties=properties,
                      count=params.count, as_of=as_of_param(params.as_of))  # fmt: skip
