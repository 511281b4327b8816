"""Read use-cases: resolve names, build the statement, run it, shape the page.

Routers call these; nothing here knows about HTTP.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import MergedAway, NotFound
from app.domain.filters import EventFilter, EventQuery, Page, PlaceFilter
from app.domain.pages import FeaturePage, build_joined_page, build_page
from app.geo.catalog import Extent
from app.services.gazetteer import resolve_place, resolve_region, search_places
from app.store import repository
from app.store.queries import asof, event_filters, shapes
from app.store.queries import events as event_sql
from app.store.queries import places as place_sql
from app.store.queries.shapes import Kind

MAX_ID = 2**63 - 1


async def resolve_filter(engine: AsyncEngine, f: EventFilter) -> EventFilter:
    """Turn place names in the filter into ids (400 unknown, 422 ambiguous)."""
    if f.place is not None:
        place = await resolve_place(engine, f.place, "place")
        f = replace(f, place_ids=(place.id,))
    if f.within is not None:
        region = await resolve_region(engine, f.within, "within")
        f = replace(f, within_place_id=region.id)
    return f


async def bounded_feed(engine: AsyncEngine, query: EventQuery) -> EventQuery:
    """A change-feed query (`changes_after`) given its upper bound when it has none: the
    oldest transaction still running, read before the page, so every change below it has
    committed (or never will) by the time the page is read."""
    f = query.filter
    if f.changes_after is None or f.changes_before is not None:
        return query
    horizon = int(await repository.fetch_scalar(engine, event_filters.CHANGE_HORIZON))
    return replace(query, filter=replace(f, changes_before=horizon))


async def event_page(engine: AsyncEngine, query: EventQuery, kind: Kind) -> FeaturePage:
    """One page of events: Feature texts (ROWS), flat CSV rows (CSV), or the Features joined
    into one text by PostgreSQL (JOINED, for GeoJSON: nothing decoded per row; previous
    pages are rare and read rows)."""
    query = replace(query, filter=await resolve_filter(engine, query.filter))
    if kind is Kind.JOINED and query.page.backward:
        kind = Kind.ROWS
    stmt, values = shapes.event_statement(query, kind)
    settings = shapes.planner_settings(query, kind)
    if kind is Kind.JOINED:
        row = await repository.fetch_one_via_driver(engine, stmt, values, settings)
        page = build_joined_page(row, query.page)
    else:
        rows = await repository.fetch_rows(engine, stmt, values, settings)
        page = build_page(rows, query.page)
    if query.count:
        stmt, values = shapes.event_statement(query, Kind.COUNT)
        matched = await repository.fetch_scalar(engine, stmt, values)
        page = replace(page, number_matched=int(matched))
    return page


async def event_export(
    engine: AsyncEngine, query: EventQuery, chunk_rows: int, flat: bool = False
) -> AsyncIterator[Sequence[Any]]:
    """Every matching event, streamed in batches through a server-side cursor."""
    f = await resolve_filter(engine, query.filter)
    if flat:
        stmt = event_sql.events_csv_page(f, query.page, query.properties)
    else:
        stmt = event_sql.events_page(f, query.page, query.properties)
    stmt = _known_at(stmt.limit(None), query.as_of)
    return await repository.stream_rows(engine, stmt, chunk_rows)


def _known_at(stmt: Select[Any], as_of: datetime | None) -> Select[Any]:
    """The statement over the present, or over the versions valid at ``as_of``."""
    return stmt if as_of is None else asof.as_of(stmt, as_of)


def csv_header(query: EventQuery) -> list[str]:
    return list(event_sql.csv_columns(query.properties))


async def event_feature(
    engine: AsyncEngine, event_id: int, as_of: datetime | None = None
) -> tuple[str, int]:
    """The event's Feature text and version (as known at ``as_of``); 404 when unknown or
    deleted."""
    row = None
    if 0 < event_id <= MAX_ID:
        stmt = _known_at(event_sql.event_lookup(event_id), as_of)
        row = await repository.fetch_one(engine, stmt)
    row = live_event(event_id, row)
    return str(row.feature), int(row.version)


def live_event(event_id: int, row: Any | None) -> Any:
    """404 for an unknown or deleted event, a redirect (MergedAway) for a merged one; ``row``
    has the event's ``deleted_at`` and ``survivor`` (NULL unless merged)."""
    if row is None:
        raise NotFound(f"No event with id {event_id}.")
    if row.survivor is not None:
        raise MergedAway(event_id, int(row.survivor))
    if row.deleted_at is not None:
        raise NotFound(f"Event {event_id} was deleted at {row.deleted_at.isoformat()}.")
    return row


async def place_page(engine: AsyncEngine, f: PlaceFilter, page: Page) -> FeaturePage:
    """Places by id, or — when the filter has a query — the best matches by name, ranked."""
    if f.within is not None:
        region = await resolve_region(engine, f.within, "within")
        f = replace(f, within_place_id=region.id)
    if f.query is None:
        return build_page(await repository.fetch_rows(engine, place_sql.places_page(f, page)), page)
    rows = await search_places(engine, f, f.query, page.limit)
    # A ranked list has no stable keyset to page on: the best `limit` hits are the answer.
    return FeaturePage([tuple(row) for row in rows], None, None)


async def place_feature(engine: AsyncEngine, key: str) -> str:
    """A place by numeric id or slug; 404 names what was asked for."""
    row = await repository.fetch_one(engine, place_sql.place_lookup(key))
    if row is None:
        raise NotFound(f"No place with id or slug {key!r}.")
    return str(row.feature)


async def extents(engine: AsyncEngine) -> dict[str, Extent]:
    """The current extent of each collection, computed from the data."""
    ev = tuple(await repository.fetch_one(engine, event_sql.events_extent()) or ())
    pl = tuple(await repository.fetch_one(engine, place_sql.places_extent()) or ())
    return {
        "events": Extent(_box(ev), *(ev[4:6] if ev else (None, None))),
        "places": Extent(_box(pl)),
    }


def _box(row: tuple[Any, ...]) -> tuple[float, float, float, float] | None:
    if not row or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


_SOURCES = text(
    """
    SELECT slug, name, kind, country_code, url,
           (SELECT count(*) FROM event_sources es WHERE es.source_id = s.id) AS citations
    FROM sources s ORDER BY slug
    """
)


async def sources(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every source with its citation count."""
    return [row._asdict() for row in await repository.fetch_rows(engine, _SOURCES)]
