"""Write rate limits are one token bucket per caller in PostgreSQL, shared by every process:
a burst up to the limit, then one write per refill interval, whichever process answers. And
a cursor one process issued pages on another: nothing a request needs lives in a process."""

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from sqlalchemy import text

from app.store.engine import make_engine
from app.store.ratelimits import take_token
from app.web.problems import TooManyRequests, headers_of
from app.web.ratelimit import take
from tests.api.test_writes import EVENT, _prepare
from tests.conftest import live_server, settings_for


async def _burst_then_refill(url: str) -> None:
    engine = make_engine(url, settings_for(url))
    try:
        for _ in range(3):
            await take(engine, "key:k", 3)
        with pytest.raises(TooManyRequests) as refused:
            await take(engine, "key:k", 3)
        assert headers_of(refused.value) == {"Retry-After": "20"}
        await take(engine, "key:other", 3)  # callers do not share buckets
        async with engine.begin() as conn:  # 20 s pass for k: one token back (60/3 s)
            await conn.execute(text("UPDATE rate_buckets SET stamp = stamp - interval '20 s' "
                                    "WHERE bucket = 'key:k'"))  # fmt: skip
        await take(engine, "key:k", 3)
        assert not (await take_token(engine, "key:k", 3)).granted
        for _ in range(1000):
            await take(engine, "key:unlimited", 0)  # 0: no limit, and no row
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT bucket FROM rate_buckets"))).scalars().all()
        assert sorted(rows) == ["key:k", "key:other"]
    finally:
        await engine.dispose()


def test_a_burst_then_one_write_per_refill_interval(fresh_url: str) -> None:
    asyncio.run(_burst_then_refill(fresh_url))


def _post(base: str, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(EVENT).encode()
    request = urllib.request.Request(f"{base}/events", body, headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request) as answer:  # noqa: S310 (loopback)
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_limit_holds_across_two_api_processes(fresh_url: str) -> None:
    # Per-process buckets accepted 8 of these 8 (4 a minute, twice).
    keys = asyncio.run(_prepare(fresh_url))
    limit = {"FRONTLINE_WRITES_PER_MINUTE_PER_KEY": "4"}
    with (
        live_server(fresh_url, settings=limit) as one,
        live_server(fresh_url, settings=limit) as two,
    ):
        answers = [_post(base, keys["writer"]) for base in (one, two) * 4]
    assert answers == [201, 201, 201, 201, 429, 429, 429, 429]


def _page(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url) as answer:  # noqa: S310 (loopback)
        page: dict[str, Any] = json.load(answer)
        return page


def test_a_cursor_from_one_process_pages_on_the_other(seeded_url: str) -> None:
    with live_server(seeded_url) as one, live_server(seeded_url) as two:
        whole = [f["id"] for f in _page(f"{one}/events?limit=1000")["features"]]
        seen, here, there = [], one, two
        url: str | None = f"{one}/events?limit=3"
        while url:
            page = _page(url)
            seen += [f["id"] for f in page["features"]]
            after = [link["href"] for link in page["links"] if link["rel"] == "next"]
            # the next page from the other process
            url = after[0].replace(here, there) if after else None
            here, there = there, here
    assert len(whole) > 6
    assert seen == whole
