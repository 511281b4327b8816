"""The one place that executes SQL."""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Executable, Result, Row, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncResult
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from app.store.errors import replica_cannot_serve

# Single reads need no transaction: autocommit saves the BEGIN and ROLLBACK round trips.
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
EXPORT_SETTINGS = {"max_parallel_workers_per_gather": "0"}  # see stream_rows
# Set on an engine behind a transaction-mode pooler (app.store.engine): every statement runs
# in a transaction, the only unit such a pooler keeps on one server connection.
TRANSACTION_POOLING = "frontline_transaction_pooling"


# Set on a read replica's engine (app.store.replicas): a Fallback, the database a read goes
# to when the replica cannot serve it.
FALLBACK = "frontline_fallback"


class Fallback(Protocol):
    primary: AsyncEngine

    def failed(self, error: BaseException) -> None:
        """Told of a read the replica could not serve, before it is retried on the primary."""


T = TypeVar("T")


async def _read(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    return await _or_on_primary(engine, lambda chosen: _read_retrying(chosen, work))


async def _or_on_primary(engine: AsyncEngine, attempt: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """``attempt`` on ``engine``; on the primary instead when it is a replica's engine that
    cannot serve it."""
    try:
        return await attempt(engine)
    except Exception as error:
        fallback: Fallback | None = engine.get_execution_options().get(FALLBACK)
        if fallback is None or not replica_cannot_serve(error):
            raise
        fallback.failed(error)
    return await attempt(fallback.primary)


async def _read_retrying(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run a read on a pooled connection, once more on a new one if the pooled one turns out
    dead (the database restarted): reads are safe to repeat, and checking every connection
    before use (pool pre-ping) would cost each request a round trip."""
    try:
        async with engine.connect() as conn:
            return await work(conn)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    async with engine.connect() as conn:
        return await work(conn)


Values = Mapping[str, Any] | None  # values of the statement's named parameters


def _autocommit(
    stmt: Executable, take: Callable[[Result[Any]], T], values: Values = None
) -> Callable[[AsyncConnection], Awaitable[T]]:
    async def work(conn: AsyncConnection) -> T:
        if not _behind_pooler(conn):
            await conn.execution_options(**AUTOCOMMIT)
        return take(await conn.execute(stmt, values))

    return work


def _behind_pooler(conn: AsyncConnection) -> bool:
    return bool(
        conn.sync_connection
        and conn.sync_connection.get_execution_options().get(TRANSACTION_POOLING)
    )


async def fetch_rows(
    engine: AsyncEngine, stmt: Executable, values: Values = None,
    settings: Mapping[str, str] | None = None,
) -> Sequence[Row[Any]]:  # fmt: skip
    """All rows of a bounded statement (a page) in one round trip; with ``settings``, in a
    transaction that applies them first."""
    if not settings:
        return await _read(engine, _autocommit(stmt, Result.all, values))

    async def work(conn: AsyncConnection) -> Sequence[Row[Any]]:
        await _set_local(conn, settings)
        return (await conn.execute(stmt, values)).all()

    return await _read(engine, work)


async def _set_local(conn: AsyncConnection, settings: Mapping[str, str]) -> None:
    """Server settings for the connection's current transaction only."""
    for name, value in settings.items():
        await conn.execute(select(func.set_config(name, value, True)))


async def execute_script(conn: AsyncConnection, script: str) -> None:
    """Run `;`-separated statements (constant SQL: no literal contains a semicolon)."""
    for statement in script.split(";"):
        if statement.strip():
            await conn.execute(text(statement))


async def fetch_one(
    engine: AsyncEngine, stmt: Executable, values: Values = None
) -> Row[Any] | None:
    return await _read(engine, _autocommit(stmt, Result.first, values))


async def fetch_one_via_driver(
    engine: AsyncEngine, stmt: ClauseElement, values: Values = None,
    settings: Mapping[str, str] | None = None,
) -> asyncpg.Record | None:  # fmt: skip
    """fetch_one for the hottest reads (a GeoJSON page): the statement, compiled once, runs on
    the pooled connection's asyncpg driver itself. SQLAlchemy's execute and result around
    it cost a small page 0.1-0.3 ms of worker CPU (bench/README.md). ``settings`` are
    applied first, in the transaction the statement then runs in."""
    compiled = _driver_statement(engine, stmt)
    args = compiled.arguments(values or {})

    async def work(conn: AsyncConnection) -> asyncpg.Record | None:
        if settings:  # the connection's transaction, which the statement below runs in
            await _set_local(conn, settings)
        elif _behind_pooler(conn):
            await conn.begin()
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            row: asyncpg.Record | None = await driver.fetchrow(compiled.sql, *args)
            return row
        except Exception:
            if driver.is_closed():
                # Show SQLAlchemy the dead connection: it drops it and the pooled ones opened
                # before it (the database has likely restarted), and raises the invalidation
                # error that _read answers with one retry.
                await conn.execute(select(1))
            raise

    return await _read(engine, work)


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled for asyncpg: its SQL, and how to order and convert its values."""

    sql: str
    names: tuple[str, ...]
    defaults: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    convert: Mapping[str, Any]  # name -> the function execute() applies to its value

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        params = self.defaults(values)
        return [
            convert(params[name]) if (convert := self.convert.get(name)) else params[name]
            for name in self.names
        ]


_driver_statements: WeakKeyDictionary[ClauseElement, _DriverStatement] = WeakKeyDictionary()


def _driver_statement(engine: AsyncEngine, stmt: ClauseElement) -> _DriverStatement:
    found = _driver_statements.get(stmt)
    if found is None:
        compiled = cast(SQLCompiler, stmt.compile(dialect=engine.dialect))
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("a statement whose SQL depends on its values needs execute()")
        found = _driver_statements[stmt] = _DriverStatement(
            compiled.string,
            tuple(compiled.positiontup or ()),
            lambda values: compiled.construct_params(values) or {},
            compiled._bind_processors,  # what execute() applies to each value (private)
        )
    return found


async def fetch_scalar(engine: AsyncEngine, stmt: Executable, values: Values = None) -> Any:
    return await _read(engine, _autocommit(stmt, Result.scalar, values))


async def stream_rows(
    engine: AsyncEngine, stmt: Executable, chunk_rows: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Batches of rows through a server-side cursor, so exports run in flat memory.

    The first batch is fetched before this returns: a bad statement or a dead database
    fails here, while an error response can still be sent.
    """
    return await _or_on_primary(engine, lambda chosen: _first_batch(chosen, stmt, chunk_rows))


async def _first_batch(
    engine: AsyncEngine, stmt: Executable, chunk_rows: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    conn = await engine.connect()
    try:
        # Parallel workers must sort every match before a Gather Merge yields its first row:
        # a 10M-event export sorted ~10 GB and passed the statement timeout before its
        # first batch; without them it walks the (occurred_at, id) index and streams.
        await _set_local(conn, EXPORT_SETTINGS)
        result = await conn.stream(stmt)
        first = await result.fetchmany(chunk_rows)
    except BaseException:
        await conn.close()
        raise
    return _batches(conn, result, first, chunk_rows)


async def _batches(
    conn: AsyncConnection, result: AsyncResult[Any], first: Sequence[Row[Any]], chunk_rows: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    try:
        batch = first
        while batch:
            yield batch
            batch = await result.fetchmany(chunk_rows)
    finally:
        await result.close()
        await conn.close()
