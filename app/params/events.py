"""Query parameters of the events collection (the same on /events and OGC items)."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from app.filters import BBox, EventFilter, EventQuery, Interval, Page
from app.params.common import (
    AppSettings,
    CursorQuery,
    LimitQuery,
    bbox_param,
    datetime_param,
    make_page,
    near_radius,
    non_empty_text,
)
from app.parsing import parse_csv_list, parse_instant, parse_sortby
from app.queries.events import EVENT_PROPERTY_NAMES, EVENT_SORT_TYPES, EVENT_SORTABLE
from app.vocab import EventType, Verification, values

DEFAULT_SORT = "occurred_at,id"


def _csv(text: str | None, parameter: str, allowed: list[str] | None = None) -> tuple[str, ...]:
    return parse_csv_list(text, parameter, allowed) if text is not None else ()


async def event_filter(
    bbox: Annotated[BBox | None, Depends(bbox_param)],
    interval: Annotated[Interval | None, Depends(datetime_param)],
    circle: Annotated[tuple[tuple[float, float] | None, float | None], Depends(near_radius)],
    event_type: Annotated[
        str | None,
        Query(
            description=f"Comma list of event types: {', '.join(values(EventType))}.",
            examples=["battle,incursion"],
        ),
    ] = None,
    verification: Annotated[
        str | None,
        Query(
            description=f"Comma list of statuses: {', '.join(values(Verification))}.",
            examples=["claimed,disputed"],
        ),
    ] = None,
    place: Annotated[
        str | None,
        Query(
            description="Events tied to this place: an id, a slug or any known spelling "
            "(`Демидовка`, `Demydivka`).",
            examples=["sudzha"],
        ),
    ] = None,
    within: Annotated[
        str | None,
        Query(
            description="Events whose point lies in this region's boundary: id, slug or name.",
            examples=["Kursk Oblast"],
        ),
    ] = None,
    source: Annotated[
        str | None,
        Query(
            description="Comma list of source slugs: events cited by any of them.", examples=["isw"]
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(
            description="Events with an actor whose name contains this text (case-insensitive).",
            examples=["Ukraine"],
        ),
    ] = None,
    min_fatalities: Annotated[
        int | None,
        Query(
            ge=0,
            le=2_147_483_647,  # fatalities is a 32-bit column
            description="Events with at least this many reported fatalities "
            "(unknown counts never match).",
            examples=[1],
        ),
    ] = None,
    updated_since: Annotated[
        str | None,
        Query(
            description="Change feed: events changed after this RFC 3339 instant.",
            examples=["2025-03-20T00:00:00Z"],
        ),
    ] = None,
    include_deleted: Annotated[
        bool,
        Query(
            description="Also return deleted events, as tombstones (id, `deleted_at`, `version`).",
            examples=[True],
        ),
    ] = False,
    q: Annotated[
        str | None,
        Query(
            description="Words to find in the title or description (web-search syntax: "
            '`"exact phrase"`, `-excluded`, `or`).',
            examples=["Demidovka"],
        ),
    ] = None,
) -> EventFilter:
    near, radius_m = circle
    return EventFilter(
        bbox=bbox,
        interval=interval,
        event_types=_csv(event_type, "event_type", values(EventType)),
        verifications=_csv(verification, "verification", values(Verification)),
        place=non_empty_text(place, "place"),
        within=non_empty_text(within, "within"),
        near=near,
        radius_m=radius_m,
        sources=_csv(source, "source"),
        actors=(actor.strip(),) if actor and actor.strip() else (),
        min_fatalities=min_fatalities,
        updated_since=parse_instant(updated_since, "updated_since") if updated_since else None,
        include_deleted=include_deleted,
        text=non_empty_text(q, "q"),
    )


async def event_page(
    settings: AppSettings,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
    sortby: Annotated[
        str | None,
        Query(
            description=f"Sort keys, `-` for descending: {', '.join(EVENT_SORTABLE)}.",
            examples=["-occurred_at,id"],
        ),
    ] = None,
) -> Page:
    sort = parse_sortby(sortby or DEFAULT_SORT, list(EVENT_SORTABLE))
    return make_page(settings, limit, cursor, sort, EVENT_SORT_TYPES)


AsOfQuery = Annotated[
    str | None,
    Query(
        description="An RFC 3339 instant: answer with the events as they were known then "
        "(later events, edits and deletions not yet applied), from the revision history.",
        examples=["2025-03-19T12:00:00Z"],
    ),
]


def as_of_param(as_of: str | None) -> datetime | None:
    return parse_instant(as_of, "as_of") if as_of is not None else None


async def event_query(
    f: Annotated[EventFilter, Depends(event_filter)],
    page: Annotated[Page, Depends(event_page)],
    properties: Annotated[
        str | None,
        Query(
            description="Comma list of properties to return (all by default).",
            examples=["title,occurred_at,verification"],
        ),
    ] = None,
    count: Annotated[
        bool,
        Query(
            description="Also compute `numberMatched` (one more query; off by default).",
            examples=[True],
        ),
    ] = False,
    as_of: AsOfQuery = None,
) -> EventQuery:
    chosen = _csv(properties, "properties", list(EVENT_PROPERTY_NAMES)) if properties else None
    return EventQuery(filter=f, page=page, properties=chosen, count=count,
                      as_of=as_of_param(as_of))  # fmt: skip
