"""event_tile_cells (migration 0006): the summary behind low-zoom tiles.

Tiles counted from the summary carry exactly the cells that counting the events gives, for
every time window, type and verification filter; and after every kind of write (create,
patch, soft delete, restore, hard delete, bulk import, re-import, truncate) the summary equals a
recomputation in Python from the rows of ``events``."""

import asyncio
import json
import math
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.filters import BBox, EventFilter
from app.domain.parsing import parse_datetime
from app.geo.tiles import Tile
from app.store import devdb
from app.store.queries import tile_summaries
from app.store.queries import tiles as tile_sql
from tests.api.test_imports import ACLED, acled_csv, run_import, write
from tests.api.test_tiles import busiest_tiles, decode, in_tile
from tests.api.test_writes import EVENT, Api, _prepare
from tests.conftest import (
    client_for,
    execute,
    scratch_database,
    with_engine,
)
from tests.factories import EventRow, insert_events, random_events

SIDE = 8  # cells per tile edge in these tests: tile zoom z is counted on level z + 3
WINDOWS = [
    None,
    "2023-03-01/2023-05-31",  # whole months
    "2022-11-15T06:00:00Z/2023-02-03T12:00:00Z",  # partial months at both ends
    "2023-01-01T00:00:00Z/2023-04-01T00:00:00Z",  # closed end on a month boundary
    "2023-03-05",  # one day, no whole month
    "../2023-06-10",
    "2024-01-10/..",
    "2024-02-29T12:34:56Z",  # an instant
]


@pytest.fixture(scope="module")
def loaded(cluster: devdb.Cluster) -> Iterator[tuple[str, list[EventRow]]]:
    with scratch_database(
        cluster, "cells", partial(insert_events, rows=random_events(3000, seed=5))
    ) as db:
        yield db


@pytest.fixture(scope="module")
def dense(cluster: devdb.Cluster) -> Iterator[tuple[str, list[EventRow]]]:
    """Events packed around Bakhmut, so that cells at zooms 8-12 hold many of them."""
    rng = random.Random(11)
    packed = [
        {**row, "lon": round(rng.uniform(37.9, 38.1), 4), "lat": round(rng.uniform(48.5, 48.7), 4)}
        for row in random_events(1500, seed=9)
    ]
    with scratch_database(cluster, "dense", partial(insert_events, rows=packed)) as db:
        yield db


async def _cells(engine: AsyncEngine, query: Select[Any]) -> list[tuple[Any, ...]]:
    sub = query.subquery()
    wrapped = select(
        sub.c["count"],
        sub.c.fatalities,
        sub.c.first_at,
        sub.c.last_at,
        func.ST_X(sub.c.geom),
        func.ST_Y(sub.c.geom),
    )
    async with engine.connect() as conn:
        return sorted((tuple(r) for r in await conn.execute(wrapped)), key=repr)


def assert_same_cells(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(expected)
    got, expected = (
        sorted(got, key=lambda r: repr(r[:4])),
        sorted(expected, key=lambda r: repr(r[:4])),
    )
    for g, e in zip(got, expected, strict=True):
        assert g[:4] == e[:4]
        # cell positions are means over floats summed in another order: same pixel, or next
        assert abs(g[4] - e[4]) <= 1 and abs(g[5] - e[5]) <= 1


FILTERS = [
    {},
    {"event_types": ("shelling", "battle")},
    {"verifications": ("confirmed",)},
    {"event_types": ("airstrike",), "verifications": ("claimed", "disputed")},
]


@pytest.mark.parametrize("window", WINDOWS)
def test_summary_tiles_equal_counting_the_events(
    loaded: tuple[str, list[EventRow]], window: str | None
) -> None:
    url, rows = loaded
    interval = parse_datetime(window) if window else None

    async def compare(engine: AsyncEngine) -> int:
        checked = 0
        for z in (2, 4, 6, 7, 9, 10, 12):
            for x, y in busiest_tiles(rows, z, count=2):
                t = Tile(z, x, y)
                for extra in FILTERS:
                    f = EventFilter(interval=interval, **extra)  # type: ignore[arg-type]
                    summary = tile_summaries.summary_cells_query(f, t, SIDE)
                    timed = interval is not None
                    assert (summary is None) == (z + 3 > (13 if timed else 15))
                    if summary is None:
                        continue
                    expected = await _cells(engine, tile_sql.cells_query(f, t, SIDE))
                    assert_same_cells(await _cells(engine, summary), expected)
                    checked += bool(expected)
        return checked

    assert with_engine(url, compare) >= 5


def test_filters_the_summary_cannot_answer_use_the_events() -> None:
    t = Tile(6, 38, 21)
    west, south, east, north = t.lonlat_bounds()
    assert tile_summaries.summary_cells_query(EventFilter(), t, 64) is not None
    covering = BBox(west - 1, south - 1, east + 1, north + 1)
    assert tile_summaries.summary_cells_query(EventFilter(bbox=covering), t, 64) is not None
    cutting = BBox(west + 0.1, south, east, north)
    for f in (
        EventFilter(bbox=cutting),
        EventFilter(place_ids=(1,)),
        EventFilter(within_place_id=1),
        EventFilter(near=(35.0, 50.0), radius_m=1000),
        EventFilter(sources=("isw",)),
        EventFilter(actors=("Wagner",)),
        EventFilter(min_fatalities=1),
        EventFilter(updated_since=datetime(2024, 1, 1, tzinfo=UTC)),
        EventFilter(text="shelling"),
    ):
        assert tile_summaries.summary_cells_query(f, t, 64) is None
        assert tile_summaries.summary_cells_query(replace(f, bbox=None), t, 64) is None or f.bbox


@pytest.mark.parametrize(
    ("z", "window", "side"),
    [(10, None, 32), (11, None, 16), (12, None, 8), (8, "2023-03-01/2023-05-31", 32),
     (10, "2022-11-15T06:00:00Z/2023-02-03T12:00:00Z", 8)],
)  # fmt: skip
def test_past_the_finest_level_the_summary_counts_larger_cells(
    dense: tuple[str, list[EventRow]], z: int, window: str | None, side: int
) -> None:
    """64 cells a side are wanted; the summary gives as many as its finest level holds, and
    they are exactly the cells that counting the events at that size gives."""
    url, rows = dense
    f = EventFilter(interval=parse_datetime(window) if window else None)

    async def compare(engine: AsyncEngine) -> None:
        for x, y in busiest_tiles(rows, z, count=2):
            t = Tile(z, x, y)
            summary = tile_summaries.summary_cells_query(f, t, 64)
            assert summary is not None
            expected = await _cells(engine, tile_sql.cells_query(f, t, side))
            assert expected and max(cell[0] for cell in expected) > 1
            assert_same_cells(await _cells(engine, summary), expected)
        if side == tile_summaries.MIN_SUMMARY_SIDE:  # a zoom deeper, its cells would be too large
            assert tile_summaries.summary_cells_query(f, Tile(z + 1, 0, 0), 64) is None

    with_engine(url, compare)


# The oracle: the summary's rows recomputed in Python from `events`.
ALL_TIME, MONTHLY = range(10, 16), range(10, 14)
MAX_LAT = math.degrees(math.atan(math.sinh(math.pi)))


def _cell(frac: float, level: int) -> int:
    return min((1 << level) - 1, max(0, math.floor(frac * (1 << level))))


def expected_summary(events: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[Any]]:
    out: dict[tuple[Any, ...], list[Any]] = {}
    for lon, lat, at, event_type, verification, fatalities in events:
        if abs(lat) > MAX_LAT:
            continue
        fx = (lon + 180.0) / 360.0
        fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0
        month = date(at.year, at.month, 1)
        kinds = (event_type, verification)
        levels = [(lv, date.min, kinds) for lv in ALL_TIME] + [(lv, month, kinds) for lv in MONTHLY]
        levels += [(lv, date.min, ("*", "*")) for lv in ALL_TIME]  # over every type/verification
        for level, bucket, (kind, status) in levels:
            key = (level, bucket, _cell(fx, level), _cell(fy, level), kind, status)
            row = out.setdefault(key, [0, 0, 0, at, at, 0.0, 0.0])
            row[0] += 1
            row[1] += fatalities or 0
            row[2] += fatalities is not None
            row[3], row[4] = min(row[3], at), max(row[4], at)
            row[5] += fx
            row[6] += fy
    return out


async def _summary_and_events(engine: AsyncEngine) -> tuple[dict[Any, Any], list[Any]]:
    async with engine.connect() as conn:
        stored = await conn.execute(
            text(
                "SELECT level, CASE WHEN month = '-infinity' THEN NULL ELSE month END, cx, cy,"
                " event_type, verification, events, fatalities, reported, first_at, last_at,"
                " sum_x, sum_y FROM event_tile_cells"
            )
        )
        summary = {(r[0], r[1] or date.min, *r[2:6]): list(r[6:]) for r in stored}
        live = await conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), occurred_at, event_type, verification, fatalities"
                " FROM events WHERE deleted_at IS NULL"
            )
        )
        return summary, [tuple(r) for r in live]


def assert_summary_is_exact(url: str) -> int:
    summary, live = with_engine(url, _summary_and_events)
    expected = expected_summary(live)
    assert summary.keys() == expected.keys()
    for key, row in expected.items():
        got = summary[key]
        assert got[:5] == row[:5], key
        assert got[5] == pytest.approx(row[5], abs=1e-9) and got[6] == pytest.approx(
            row[6], abs=1e-9
        )
    return len(live)


def test_backfill_and_inserts_keep_the_summary_exact(loaded: tuple[str, list[EventRow]]) -> None:
    assert assert_summary_is_exact(loaded[0]) == 3000


def _patch(api: Api, location: str, version: int, body: dict[str, Any]) -> None:
    response = api.client.patch(
        location,
        content=json.dumps(body),
        headers=api.auth(
            **{"If-Match": f'"{version}"', "Content-Type": "application/merge-patch+json"}
        ),
    )
    assert response.status_code == 200, response.text


def test_writes_through_the_api_keep_the_summary_exact(api: Api, tmp_path: Path) -> None:
    first = api.create({**EVENT, "fatalities": 2}).headers["location"]
    second = api.create({**EVENT, "occurred_at": "2025-03-12T10:00:00Z"}).headers["location"]
    third = api.create({**EVENT, "occurred_at": "2025-01-31T23:00:00Z", "fatalities": 0})
    assert third.status_code == 201
    assert_summary_is_exact(api.url)
    # the first event of its cells moves away in time, then in space, type and verification
    _patch(api, first, 1, {"occurred_at": "2025-04-02T00:00:00Z"})
    _patch(api, first, 2, {"place": "Demydivka", "event_type": "battle"})
    _patch(api, second, 1, {"verification": "confirmed", "fatalities": 7})
    assert_summary_is_exact(api.url)
    deleted = api.client.delete(second, headers=api.auth(**{"If-Match": '"2"'}))
    assert deleted.status_code == 204
    assert_summary_is_exact(api.url)
    event_id = second.rsplit("/", 1)[1]
    restored = api.client.post(
        f"/events/{event_id}/restore", headers=api.auth(**{"If-Match": '"3"'})
    )
    assert restored.status_code == 200
    assert_summary_is_exact(api.url)

    path = write(tmp_path, "acled.csv", acled_csv(ACLED))
    assert run_import(api.url, path).inserted == len(ACLED)
    assert_summary_is_exact(api.url)
    changed = [[*ACLED[0][:1], "2025-02-01", *ACLED[0][2:8], "51.5", "36.9", *ACLED[0][10:]]]
    run_import(api.url, write(tmp_path, "again.csv", acled_csv(changed + ACLED[1:])))
    assert_summary_is_exact(api.url)

    async def hard_writes(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM events WHERE id = (SELECT min(id) FROM events)"))
            await conn.execute(
                text("UPDATE events SET geom = ST_SetSRID(ST_MakePoint(179.9, 89), 4326)")
            )

    with_engine(api.url, hard_writes)
    assert_summary_is_exact(api.url)
    execute(api.url, "TRUNCATE events CASCADE")
    assert assert_summary_is_exact(api.url) == 0


@pytest.fixture
def api(fresh_url: str) -> Iterator[Api]:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url) as client:
        yield Api(client, fresh_url, keys)


def test_tiles_from_the_summary_follow_writes(loaded: tuple[str, list[EventRow]]) -> None:
    """Through HTTP, with the default cap: a tile over all events is counted per cell, and the
    counts add up to the events in it before and after a soft delete."""
    url, rows = loaded
    with client_for(url, tile_max_features=64) as client:

        def total() -> int:
            response = client.get("/tiles/events/4/9/5.mvt")
            assert response.status_code == 200
            layers = decode(response.content)
            return sum(f["properties"]["count"] for f in layers["event_cells"]["features"])

        before = total()
        assert before == sum(1 for r in rows if in_tile(r, 4, 9, 5))

        async def soft_delete(engine: AsyncEngine) -> int:
            async with engine.begin() as conn:
                done = await conn.execute(
                    text(
                        "UPDATE events SET deleted_at = now() WHERE id IN "
                        "(SELECT id FROM events WHERE ST_X(geom) BETWEEN 30 AND 40 "
                        "ORDER BY id LIMIT 10)"
                    )
                )
                return done.rowcount

        assert with_engine(url, soft_delete) == 10
        assert total() == before - 10
        execute(url, "UPDATE events SET deleted_at = NULL")
        assert total() == before


def test_bulk_changes_keep_the_summary_exact(fresh_url: str) -> None:
    """Set-based writes that move many events out of crowded cells (often their first or last
    ones): every count, sum and first/last still equals a recomputation."""
    with_engine(fresh_url, lambda engine: insert_events(engine, random_events(1500, seed=9)))
    for sql in (
        "UPDATE events SET occurred_at = occurred_at - interval '40 days' WHERE id % 7 = 0",
        "UPDATE events SET event_type = 'battle', fatalities = 3 WHERE id % 5 = 1",
        "UPDATE events SET geom = ST_SetSRID(ST_MakePoint(ST_X(geom) + 0.3, ST_Y(geom)), 4326)"
        " WHERE id % 3 = 0 AND ST_X(geom) < 179",
        "UPDATE events SET deleted_at = now() WHERE id % 11 = 0",
        "DELETE FROM events WHERE id % 13 = 0",
        "UPDATE events SET deleted_at = NULL WHERE id % 22 = 0",
        "UPDATE events SET title = title || '!'",  # nothing the summary holds
    ):
        execute(fresh_url, sql)
        assert assert_summary_is_exact(fresh_url) > 1000
