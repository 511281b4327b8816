"""Read-your-writes across replicas: the `Frontline-Consistency` token.

Every write answers with the primary's log position after its commit. A read that sends it
back is served by a replica only once that replica has replayed past it, else by the primary
(app.store.replicas), so a client never reads an event older than the one it just wrote.
"""

from typing import Annotated

from fastapi import Header, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import InvalidHeader
from app.store import repository
from app.store.replicas import COMMIT_POSITION, ReadRouting, parse_lsn

HEADER = "Frontline-Consistency"
EXAMPLE = "0/1A2B3C8"


async def read_engine(
    request: Request,
    token: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="The token a write answered with: this read then sees that write "
            "(a replica serves it only once it has replayed it, else the primary does).",
            examples=[EXAMPLE],
        ),
    ] = None,
) -> AsyncEngine:
    """Dependency: the database a read goes to."""
    routing: ReadRouting = request.app.state.reads
    if token is None:
        return routing.engine_for(None)
    try:
        position = parse_lsn(token.strip())
    except ValueError:
        raise InvalidHeader(
            HEADER, f"{token!r} is not a token a write answered with (such as {EXAMPLE!r})"
        ) from None
    return routing.engine_for(position)


async def primary_engine(request: Request) -> AsyncEngine:
    """Dependency: the primary, for writes, imports and operations."""
    engine: AsyncEngine = request.app.state.engine
    return engine


async def written(engine: AsyncEngine) -> dict[str, str]:
    """The header a write answers with, once it has committed."""
    return {HEADER: await repository.fetch_scalar(engine, COMMIT_POSITION)}
