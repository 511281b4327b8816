"""Request → response for the events and places collections, shared by the REST and OGC routers.

A router names the resource; these pick the query shape for the format and build the response.
"""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.filters import EventQuery, Page, PlaceFilter
from app.services import reads
from app.settings import Settings
from app.store.queries.shapes import Kind
from app.web import output, responses
from app.web.formats import Format

# A change-feed page's upper bound: the next poll's `changes_after`.
CHANGES_BEFORE = "Frontline-Changes-Before"


async def events_page(
    request: Request, engine: AsyncEngine, query: EventQuery, fmt: Format, settings: Settings
) -> Response:
    flat = fmt is Format.CSV
    kind = Kind.CSV if flat else Kind.JOINED if fmt is Format.GEOJSON else Kind.ROWS
    query = await reads.bounded_feed(engine, query)
    page = await reads.event_page(engine, query, kind)
    url, headers = request.url, {}
    if (horizon := query.filter.changes_before) is not None:  # every page of a poll keeps it
        url = url.include_query_params(changes_before=horizon)
        headers[CHANGES_BEFORE] = str(horizon)
    return responses.page_response(
        request,
        page,
        fmt,
        title="Events",
        max_age=settings.cache_max_age,
        csv_header=reads.csv_header(query) if flat else None,
        url=url,
        headers=headers,
    )


async def events_export(
    engine: AsyncEngine, query: EventQuery, fmt: Format, settings: Settings
) -> Response:
    """Every match, streamed with flat memory (GeoJSON, CSV or NDJSON)."""
    batches = await reads.event_export(
        engine, query, settings.stream_chunk_rows, flat=fmt is Format.CSV
    )
    return responses.export_response(export_body(query, fmt, batches), fmt, "events")


def export_body(
    query: EventQuery, fmt: Format, batches: AsyncIterator[Sequence[Any]]
) -> AsyncIterator[bytes]:
    """The bytes of an export in one of the streaming formats (HTTP and CLI alike)."""
    if fmt is Format.CSV:
        header = reads.csv_header(query)
        return output.streamed_csv(header, batches, len(header))
    if fmt is Format.NDJSON:
        return output.streamed_ndjson(batches)
    return output.streamed_feature_collection(batches, [])


async def event_feature(
    request: Request,
    engine: AsyncEngine,
    event_id: int,
    fmt: Format,
    settings: Settings,
    as_of: datetime | None = None,
) -> Response:
    feature, version = await reads.event_feature(engine, event_id, as_of)
    return responses.feature_response(
        request,
        feature,
        fmt,
        title=f"Event {event_id}",
        etag=f'"{version}"',
        max_age=settings.cache_max_age,
    )


async def places_page(
    request: Request,
    engine: AsyncEngine,
    f: PlaceFilter,
    page: Page,
    fmt: Format,
    settings: Settings,
) -> Response:
    result = await reads.place_page(engine, f, page)
    return responses.page_response(
        request, result, fmt, title="Places", max_age=settings.cache_max_age
    )


async def place_feature(
    request: Request, engine: AsyncEngine, key: str, fmt: Format, settings: Settings
) -> Response:
    feature = await reads.place_feature(engine, key)
    return responses.feature_response(
        request,
        feature,
        fmt,
        title=f"Place {key}",
        etag=responses.etag_of([feature]),
        max_age=settings.cache_max_age,
    )
