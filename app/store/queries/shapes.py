"""Event page statements cached by shape: a request supplies only its values.

Building a page's Select and its SQLAlchemy cache key cost more CPU than the rest of the
request's Python (bench/README.md). Two requests that differ only in values (another bbox,
window or cursor) have the same shape: the statement is built once, from the first request of
its shape, and runs again with each request's values bound by name.

The shape is what the values cannot say: the kind of statement, the sort and direction, the
properties, whether deleted events show, whether the interval's end is inclusive, and the
names of the values themselves (which filters are set, how many bbox parts, actors and cursor
keys). ``tests/unit/test_shapes.py`` checks that a cached statement with new values compiles to
exactly what a fresh build for those values does.
"""

from collections import OrderedDict
from collections.abc import Hashable
from enum import Enum
from typing import Any

from sqlalchemy import Select

from app.domain.filters import EventQuery
from app.store.queries import asof, slices
from app.store.queries import events as event_sql
from app.store.queries.cql import skeleton
from app.store.queries.event_filters import event_values

MAX_SHAPES = 512  # distinct shapes kept; a client cycling through more just rebuilds


class Kind(Enum):
    ROWS = "rows"  # one Feature text and its sort keys per row
    CSV = "csv"  # flat columns and sort keys per row
    JOINED = "joined"  # the page's Features joined into one row (forward GeoJSON pages)
    COUNT = "count"  # numberMatched


SLICED = (Kind.ROWS, Kind.JOINED)  # pages (exports stream every match: no slices)

_cache: OrderedDict[tuple[Hashable, ...], Select[Any]] = OrderedDict()


def event_statement(query: EventQuery, kind: Kind) -> tuple[Select[Any], dict[str, Any]]:
    """The statement for ``query`` (place names already resolved to ids) and its values."""
    values = _values(query, kind)
    key = _shape(query, kind, values)
    stmt = _cache.get(key)
    if stmt is None:
        stmt = _cache[key] = _build(query, kind)
        if len(_cache) > MAX_SHAPES:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return stmt, values


def planner_settings(query: EventQuery, kind: Kind) -> dict[str, str]:
    """Server settings the statement is run with: those of an ``as_of`` page read by slices."""
    if query.as_of is not None and _reads_slices(query, kind):
        return asof.SLICED_PAGE_SETTINGS
    return {}


def _reads_slices(query: EventQuery, kind: Kind) -> bool:
    return kind in SLICED and event_sql.reads_slices(query.filter, query.page, query.properties)


def _values(query: EventQuery, kind: Kind) -> dict[str, Any]:
    values = event_values(query.filter)
    if kind is not Kind.COUNT:
        values |= event_sql.page_values(query.page)
    if _reads_slices(query, kind):
        values |= slices.slice_values(query.filter, query.page)
    if query.as_of is not None:
        values["as_of"] = query.as_of
    return values


def _shape(query: EventQuery, kind: Kind, values: dict[str, Any]) -> tuple[Hashable, ...]:
    f, page = query.filter, query.page
    end_inclusive = None if f.interval is None else f.interval.end_inclusive
    cql = None if f.cql is None else skeleton(f.cql)
    if kind is Kind.COUNT:
        return (kind, tuple(values), f.include_deleted, end_inclusive, cql)
    return (kind, tuple(values), f.include_deleted, end_inclusive, cql, page.sort,
            page.backward, query.properties)  # fmt: skip


def _build(query: EventQuery, kind: Kind) -> Select[Any]:
    f, page = query.filter, query.page
    if kind is Kind.COUNT:
        stmt = event_sql.events_count(f)
    elif kind is Kind.CSV:
        stmt = event_sql.events_csv_page(f, page, query.properties)
    else:
        stmt = event_sql.page_rows(f, page, query.properties, past=query.as_of is not None)
        if kind is Kind.JOINED:
            stmt = event_sql.joined_page(stmt, page)
    return stmt if query.as_of is None else asof.as_of(stmt, query.as_of)
