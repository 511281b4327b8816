"""Write rate limits shared by every API process: a token bucket per caller, in PostgreSQL.

A bucket holds up to `per_minute` tokens and refills continuously; a write takes one. Taking
is one statement (an upsert that locks the caller's row), so processes never both spend the
last token, and a limit of N a minute is N a minute however many processes serve.
"""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The refill is computed once per row (`refill.r`): tokens since the last write, capped.
_TAKE = text(
    """
    INSERT INTO rate_buckets AS b (bucket, tokens, stamp, granted)
    VALUES (:bucket, CAST(:cap AS float8) - 1, now(), true)
    ON CONFLICT (bucket) DO UPDATE SET (tokens, granted, stamp) = (
        SELECT r - CASE WHEN r >= 1 THEN 1 ELSE 0 END, r >= 1, now()
        FROM (SELECT least(CAST(:cap AS float8),
                           b.tokens + extract(epoch FROM now() - b.stamp) * :cap / 60.0) AS r
              ) AS refill)
    RETURNING granted, tokens
    """
)


@dataclass(frozen=True)
class Taken:
    granted: bool
    tokens: float  # left after this write, or (refused) what has refilled so far


async def take_token(engine: AsyncEngine, bucket: str, per_minute: int) -> Taken:
    """Spend one of ``bucket``'s tokens if it has one (committed at once, on its own)."""
    async with engine.begin() as conn:
        row = (await conn.execute(_TAKE, {"bucket": bucket, "cap": per_minute})).one()
    return Taken(bool(row.granted), float(row.tokens))
