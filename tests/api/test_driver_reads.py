"""GeoJSON pages are read through asyncpg itself (repository.fetch_one_via_driver): for any
query, the row must be exactly the one SQLAlchemy's execute returns for the same statement,
and a statement PostgreSQL refuses (values the API would have refused first, such as a window
that ends before it starts) must fail the same way."""

import asyncio
from collections.abc import Awaitable
from typing import Any

from hypothesis import given, settings

from app.domain.filters import EventFilter, EventQuery, Page
from app.store import repository
from app.store.engine import make_engine
from app.store.queries import shapes
from app.store.queries.shapes import Kind
from tests.conftest import settings_for
from tests.unit.test_shapes import same_filters_twice


def sqlstate(error: Exception) -> str | None:
    """The SQLSTATE of a raw asyncpg error or of SQLAlchemy's wrapping of one."""
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        if state := getattr(candidate, "sqlstate", None):
            return str(state)
    return None


async def outcome(read: Awaitable[Any]) -> tuple[Any, ...]:
    try:
        return ("row", tuple(await read or ()))
    except Exception as error:
        state = sqlstate(error)
        assert state is not None, error  # a database refusal, not a bug of either path
        return ("refused", state)


def both_reads(url: str, query: EventQuery) -> tuple[Any, Any]:
    async def read() -> tuple[Any, Any]:
        engine = make_engine(url, settings_for(url))
        try:
            stmt, values = shapes.event_statement(query, Kind.JOINED)
            through_sqlalchemy = await outcome(repository.fetch_one(engine, stmt, values))
            through_driver = await outcome(repository.fetch_one_via_driver(engine, stmt, values))
            return through_sqlalchemy, through_driver
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_the_whole_seeded_page_is_the_same_row(seeded_url: str) -> None:
    expected, got = both_reads(seeded_url, EventQuery(EventFilter(), Page(1000)))
    assert got == expected
    assert got[1][1] > 10  # rows: the seeds, not an empty page


@settings(max_examples=100, deadline=None)
@given(same_filters_twice())
def test_any_query_reads_the_same_row_either_way(
    seeded_url: str, pair: tuple[EventQuery, EventQuery]
) -> None:
    expected, got = both_reads(seeded_url, pair[0])
    assert got == expected
