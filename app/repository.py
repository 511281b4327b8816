"""The one place that executes SQL."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Executable, Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncResult

# Single reads need no transaction: autocommit saves the BEGIN and ROLLBACK round trips.
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def fetch_rows(engine: AsyncEngine, stmt: Executable) -> Sequence[Row[Any]]:
    """All rows of a bounded statement (a page) in one round trip."""
    async with engine.connect() as conn:
        await conn.execution_options(**AUTOCOMMIT)
        result = await conn.execute(stmt)
        return result.all()


async def fetch_rows_with(
    engine: AsyncEngine, stmt: Executable, settings: dict[str, str]
) -> Sequence[Row[Any]]:
    """Like fetch_rows, with server settings applied to this transaction only."""
    async with engine.connect() as conn:
        for name, value in settings.items():
            await conn.execute(select(func.set_config(name, value, True)))
        result = await conn.execute(stmt)
        return result.all()


async def execute_script(conn: AsyncConnection, script: str) -> None:
    """Run `;`-separated statements (constant SQL: no literal contains a semicolon)."""
    for statement in script.split(";"):
        if statement.strip():
            await conn.execute(text(statement))


async def fetch_one(engine: AsyncEngine, stmt: Executable) -> Row[Any] | None:
    async with engine.connect() as conn:
        await conn.execution_options(**AUTOCOMMIT)
        result = await conn.execute(stmt)
        return result.first()


async def fetch_scalar(engine: AsyncEngine, stmt: Executable) -> Any:
    async with engine.connect() as conn:
        await conn.execution_options(**AUTOCOMMIT)
        return (await conn.execute(stmt)).scalar()


async def stream_rows(
    engine: AsyncEngine, stmt: Executable, chunk_rows: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Batches of rows through a server-side cursor, so exports run in flat memory.

    The first batch is fetched before this returns: a bad statement or a dead database
    fails here, while an error response can still be sent.
    """
    conn = await engine.connect()
    try:
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
