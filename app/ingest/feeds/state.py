"""A feed's state in the `feeds` table (migration 0012): marks, the run under way, counts.

Progress is saved in the transaction that merges the page it describes, so what the table
says was merged has been merged, and a killed run resumes after its last committed page.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.ingest.feeds.errors import FeedError

COUNTERS = ("pages", "rows", "inserted", "updated", "unchanged", "rejected", "deleted")


@dataclass
class FeedState:
    name: str
    mark: int | None
    deleted_mark: int | None
    run: dict[str, Any] | None
    counts: dict[str, int]


_ENSURE = text("INSERT INTO feeds (name) VALUES (:name) ON CONFLICT (name) DO NOTHING")
_LOAD = text(
    "SELECT name, mark, deleted_mark, run, counts FROM feeds WHERE name = :name FOR UPDATE"
)
_PROGRESS = text(
    "UPDATE feeds SET run = CAST(:run AS jsonb), counts = CAST(:counts AS jsonb), "
    "last_run_at = now() WHERE name = :name"
)
_FINISH = text(
    "UPDATE feeds SET mark = :mark, deleted_mark = :deleted_mark, run = NULL, "
    "counts = CAST(:counts AS jsonb), last_run_at = now(), last_success_at = now(), "
    "last_error = NULL WHERE name = :name"
)
_FAILED = text("UPDATE feeds SET last_error = :error, last_run_at = now() WHERE name = :name")
_ALL = text(
    "SELECT name, mark, deleted_mark, run IS NOT NULL AS interrupted, last_run_at, "
    "last_success_at, last_error, counts FROM feeds ORDER BY name"
)
# One sync of a feed at a time, across processes: a session lock held for the whole run.
_LOCK = text("SELECT pg_try_advisory_lock(hashtext('frontline feed ' || :name))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtext('frontline feed ' || :name))")


async def load(conn: AsyncConnection, name: str) -> FeedState:
    await conn.execute(_ENSURE, {"name": name})
    row = (await conn.execute(_LOAD, {"name": name})).one()
    counts = {key: int(row.counts.get(key, 0)) for key in COUNTERS}
    return FeedState(row.name, row.mark, row.deleted_mark, row.run, counts)


async def save_progress(conn: AsyncConnection, state: FeedState) -> None:
    params = {"name": state.name, "run": json.dumps(state.run), "counts": json.dumps(state.counts)}
    await conn.execute(_PROGRESS, params)


async def finish(conn: AsyncConnection, state: FeedState) -> None:
    params = {"name": state.name, "mark": state.mark, "deleted_mark": state.deleted_mark,
              "counts": json.dumps(state.counts)}  # fmt: skip
    await conn.execute(_FINISH, params)


async def record_error(engine: AsyncEngine, name: str, error: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_ENSURE, {"name": name})
        await conn.execute(_FAILED, {"name": name, "error": error[:2000]})


async def lock(conn: AsyncConnection, name: str) -> bool:
    """Take the feed's run lock on this connection; False when another run holds it."""
    return bool((await conn.execute(_LOCK, {"name": name})).scalar())


async def unlock(conn: AsyncConnection, name: str) -> None:
    await conn.execute(_UNLOCK, {"name": name})


@asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str, label: str) -> AsyncIterator[None]:
    """The block runs holding the feed's lock (FeedError when another run holds it); a
    FeedError inside it is recorded as the feed's last error."""
    async with engine.connect() as holder:
        if not await lock(holder, name):
            raise FeedError(f"Another sync of the {label} feed is running.")
        try:
            yield
        except FeedError as exc:
            await record_error(engine, name, str(exc))
            raise
        finally:
            await unlock(holder, name)
            await holder.commit()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def all_feeds(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every feed's state, for `GET /feeds`."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_ALL)).all()
    return [
        {
            "name": row.name,
            "mark": row.mark,
            "deleted_mark": row.deleted_mark,
            "interrupted": row.interrupted,
            "last_run_at": _iso(row.last_run_at),
            "last_success_at": _iso(row.last_success_at),
            "last_error": row.last_error,
            "counts": row.counts,
        }
        for row in rows
    ]
