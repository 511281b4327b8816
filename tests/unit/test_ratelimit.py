"""Token buckets: a burst up to the limit, then one write per refill interval."""

import pytest

from app.web.problems import TooManyRequests, headers_of
from app.web.ratelimit import Buckets


def test_burst_then_refill() -> None:
    buckets = Buckets(per_minute=3)
    for _ in range(3):
        buckets.take("k", now=0.0)
    with pytest.raises(TooManyRequests) as refused:
        buckets.take("k", now=0.0)
    assert headers_of(refused.value) == {"Retry-After": "20"}
    buckets.take("k", now=20.0)  # one token back after 60/3 s
    buckets.take("other", now=0.0)  # callers do not share buckets


def test_zero_disables() -> None:
    buckets = Buckets(per_minute=0)
    for _ in range(1000):
        buckets.take("k")
