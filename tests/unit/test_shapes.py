"""Statements cached by shape: a cached statement run with a request's values must be exactly
the statement a fresh build for that request gives (same SQL, same parameter values)."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.postgresql import asyncpg

from app.domain.filters import BBox, Cursor, EventFilter, EventQuery, Interval, Page, SortKey
from app.store.queries import shapes
from app.store.queries.events import EVENT_SORT_TYPES
from app.store.queries.shapes import Kind

DIALECT = asyncpg.dialect()  # type: ignore[no-untyped-call]
SORTS = [
    (SortKey("occurred_at"), SortKey("id")),
    (SortKey("fatalities", descending=True), SortKey("id")),
    (SortKey("title"), SortKey("updated_at", descending=True), SortKey("id")),
]
instants = st.datetimes(datetime(2022, 1, 1), datetime(2026, 1, 1), timezones=st.just(UTC))
words = st.text("abcé_%-", min_size=1, max_size=6)
lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(-90, 90, allow_nan=False)
CURSOR_VALUES: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(-1, 10**12),
    datetime: instants,
    str: words,
}


def maybe(present: bool, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy if present else st.none()


@st.composite
def queries(draw: st.DrawFn, has: dict[str, bool], sort_index: int, actors: int) -> EventQuery:
    """A query with the given filters set and fresh values for them."""
    sort = SORTS[sort_index]
    cursor = None
    if has["cursor"]:
        values = tuple(draw(CURSOR_VALUES[EVENT_SORT_TYPES[k.name]]) for k in sort)
        cursor = Cursor(values, backward=has["backward"])
    interval = None
    if has["interval"]:
        start, end = draw(maybe(has["start"], instants)), draw(maybe(has["end"], instants))
        interval = Interval(start, end, end_inclusive=has["end_inclusive"])
    bbox = draw(maybe(has["bbox"], st.builds(BBox, lons, lats, lons, lats)))
    near = draw(maybe(has["near"], st.tuples(lons, lats)))
    f = EventFilter(
        bbox=bbox,
        interval=interval,
        event_types=tuple(draw(st.lists(words, min_size=1, max_size=3))) if has["types"] else (),
        verifications=("confirmed",) if has["verifications"] else (),
        place_ids=tuple(draw(st.lists(st.integers(1, 10**6), min_size=1))) if has["place"] else (),
        within_place_id=draw(maybe(has["within"], st.integers(1, 10**6))),
        near=near,
        radius_m=draw(st.floats(1, 2e6)) if near else None,
        sources=tuple(draw(st.lists(words, min_size=1, max_size=2))) if has["sources"] else (),
        actors=tuple(draw(words) for _ in range(actors)),
        min_fatalities=draw(maybe(has["fatalities"], st.integers(0, 10**6))),
        updated_since=draw(maybe(has["updated_since"], instants)),
        include_deleted=has["deleted"],
        text=draw(maybe(has["text"], words)),
    )
    limit = draw(st.integers(1, 10_000))
    as_of = draw(maybe(has["as_of"], instants))
    return EventQuery(f, Page(limit, cursor, sort), as_of=as_of)


FLAGS = ["cursor", "backward", "interval", "start", "end", "end_inclusive", "bbox", "near",
         "types", "verifications", "place", "within", "sources", "fatalities", "updated_since",
         "deleted", "text", "as_of"]  # fmt: skip


@st.composite
def same_filters_twice(draw: st.DrawFn) -> tuple[EventQuery, EventQuery]:
    """Two queries that set the same filters, with independent values (so mostly one shape)."""
    has = {flag: draw(st.booleans()) for flag in FLAGS}
    sort_index, actors = draw(st.integers(0, len(SORTS) - 1)), draw(st.integers(0, 2))
    return draw(queries(has, sort_index, actors)), draw(queries(has, sort_index, actors))


def compiled(query: EventQuery, kind: Kind) -> tuple[str, dict[str, Any]]:
    stmt, values = shapes.event_statement(query, kind)
    sql = stmt.compile(dialect=DIALECT)
    return str(sql), sql.construct_params(values)


def fresh(query: EventQuery, kind: Kind) -> tuple[str, dict[str, Any]]:
    sql = shapes._build(query, kind).compile(dialect=DIALECT)
    return str(sql), sql.params


@settings(max_examples=150, deadline=None)
@given(same_filters_twice(), st.sampled_from(list(Kind)))
def test_a_cached_statement_with_new_values_is_the_fresh_statement(
    pair: tuple[EventQuery, EventQuery], kind: Kind
) -> None:
    first, second = pair
    shapes.event_statement(first, kind)  # the first of its shape builds and caches
    (cached_sql, cached_values), (fresh_sql, fresh_values) = (
        compiled(second, kind),
        fresh(second, kind),
    )
    assert cached_sql == fresh_sql
    assert {k: v for k, v in cached_values.items() if fresh_values.get(k) != v} == {}


def test_requests_of_one_shape_share_one_statement() -> None:
    window = Interval(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    a = EventQuery(EventFilter(bbox=BBox(35, 50, 36, 51), interval=window), Page(100))
    b = EventQuery(EventFilter(bbox=BBox(37, 47, 38, 48)), Page(10))
    c = EventQuery(EventFilter(bbox=BBox(36, 49, 37, 50), interval=window), Page(10))
    stmt_a, _ = shapes.event_statement(a, Kind.JOINED)
    stmt_c, values_c = shapes.event_statement(c, Kind.JOINED)
    assert stmt_c is stmt_a
    assert values_c["bbox0_west"] == 36.0 and values_c["limit"] == 10
    assert shapes.event_statement(b, Kind.JOINED)[0] is not stmt_a  # no interval: another shape
    crossing = EventQuery(EventFilter(bbox=BBox(170, -10, -170, 10), interval=window), Page(10))
    assert shapes.event_statement(crossing, Kind.JOINED)[0] is not stmt_a  # two boxes
