"""Write rate limits per API key and per client address, shared by every API process.

Per-address limits count every write attempt, failed authentications included, so guessing
keys is slow too. The buckets live in PostgreSQL (app.store.ratelimits): N writes a minute
is N for the whole deployment, not N per process.
"""

import math

from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.ratelimits import take_token
from app.web.problems import TooManyRequests


async def take(engine: AsyncEngine, bucket: str, per_minute: int) -> None:
    """Spend a token of ``bucket`` or raise 429 with the seconds until the next one."""
    if per_minute <= 0:
        return
    taken = await take_token(engine, bucket, per_minute)
    if not taken.granted:
        wait = max(1, math.ceil((1 - taken.tokens) * 60 / per_minute - 1e-9))
        raise TooManyRequests(
            f"More than {per_minute} writes a minute; retry in {wait} s.", retry_after=wait
        )
