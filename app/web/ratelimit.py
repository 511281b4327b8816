"""Write rate limits per API key and per client address (token buckets, per process).

A bucket holds up to `per_minute` tokens and refills continuously; each write takes one.
Per-address limits count every write attempt, failed authentications included, so guessing
keys is slow too. With several workers each process keeps its own buckets.
"""

import time
from dataclasses import dataclass, field

from app.web.problems import TooManyRequests

MAX_BUCKETS = 100_000  # forget idle callers beyond this many


@dataclass
class Buckets:
    per_minute: int
    _tokens: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, who: str, now: float | None = None) -> None:
        """Spend a token for ``who`` or raise 429 with the seconds until the next one."""
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        tokens, stamp = self._tokens.get(who, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - stamp) * self.per_minute / 60)
        if tokens < 1:
            wait = max(1, round((1 - tokens) * 60 / self.per_minute))
            raise TooManyRequests(
                f"More than {self.per_minute} writes a minute; retry in {wait} s.",
                retry_after=wait,
            )
        if len(self._tokens) >= MAX_BUCKETS and who not in self._tokens:
            self._tokens.clear()
        self._tokens[who] = (tokens - 1, now)
