"""Bbox + window pages read slice by slice (app.store.queries.slices) give exactly the events,
in exactly the order, that an independent Shapely + Python oracle gives, forward and back,
across slice edges, ties and events that began before the window; and the gate picks the
time walk only for boxes that hold most events."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.domain.filters import BBox, Cursor, EventFilter, Interval, Page
from app.domain.parsing import parse_bbox, parse_datetime
from app.store import devdb, repository
from app.store.engine import make_engine
from app.store.queries import events as event_sql
from app.store.queries import slices
from app.store.queries.common import envelope
from app.store.queries.event_filters import event_values
from tests.api.test_events import in_box, in_interval
from tests.conftest import client_for, execute, scratch_database, settings_for
from tests.factories import EventRow, insert_events, random_events

TIE = datetime(2023, 6, 1, 12, 0, tzinfo=UTC)  # many events at one instant: ids break the tie


@dataclass(frozen=True)
class Data:
    url: str
    rows: list[EventRow] = field(repr=False)  # a failing example prints the url only


def _rows() -> list[dict[str, Any]]:
    rows = random_events(700, seed=23)
    for i, row in enumerate(rows[:40]):
        row.update(occurred_at=TIE, occurred_until=None if i % 2 else TIE + timedelta(days=30))
    return rows


@pytest.fixture(scope="module")
def db(cluster: devdb.Cluster) -> Iterator[Data]:
    with scratch_database(cluster, "slices", partial(insert_events, rows=_rows())) as loaded:
        url, inserted = loaded
        execute(url, "ANALYZE events")  # the gate reads the planner's statistics
        yield Data(url, inserted)


def oracle(rows: list[EventRow], box: BBox, interval: Interval) -> list[int]:
    hits = [r for r in rows if in_box(r, box) and in_interval(r, interval)]
    return [r.id for r in sorted(hits, key=lambda r: (r.start, r.id))]


def sliced_page(url: str, f: EventFilter, page: Page) -> list[tuple[int, datetime]]:
    """One page through the sliced statement alone (no gate): (id, occurred_at) per row, in
    the order PostgreSQL returns them, limit + 1 at most."""
    stmt = event_sql.sliced_rows(f, page)
    values = event_values(f) | event_sql.page_values(page) | slices.slice_values(f, page)

    async def run() -> list[tuple[int, datetime]]:
        engine = make_engine(url, settings_for(url))
        try:
            return [(r.k1, r.k0) for r in await repository.fetch_rows(engine, stmt, values)]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def walk_forward(url: str, f: EventFilter, limit: int) -> list[int]:
    ids: list[int] = []
    cursor = None
    while True:
        rows = sliced_page(url, f, Page(limit, cursor))
        ids += [i for i, _ in rows[:limit]]
        if len(rows) <= limit:
            return ids
        last_id, last_at = rows[limit - 1]
        cursor = Cursor((last_at, last_id))


instants = st.datetimes(datetime(2022, 1, 1), datetime(2025, 6, 1), timezones=st.just(UTC))


@st.composite
def boxes(draw: st.DrawFn) -> BBox:
    lon, lat = draw(st.floats(29, 40)), draw(st.floats(45, 53))
    return BBox(lon, lat, lon + draw(st.floats(0.05, 12)), lat + draw(st.floats(0.05, 8)))


@st.composite
def windows(draw: st.DrawFn) -> Interval:
    start = draw(st.one_of(instants, st.just(TIE)))
    length = draw(st.sampled_from([timedelta(0), timedelta(hours=1)])) + timedelta(
        days=draw(st.integers(0, 500))
    )
    return Interval(start, start + length, end_inclusive=draw(st.booleans()))


SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@SETTINGS
@given(box=boxes(), interval=windows(), limit=st.integers(1, 90))
def test_sliced_pages_forward_equal_the_oracle(
    db: Data, box: BBox, interval: Interval, limit: int
) -> None:
    url, rows = db.url, db.rows
    f = EventFilter(bbox=box, interval=interval)
    assert walk_forward(url, f, limit) == oracle(rows, box, interval)


@SETTINGS
@given(box=boxes(), interval=windows(), limit=st.integers(1, 90), at=st.integers(0, 10**6))
def test_a_sliced_page_backward_is_the_events_just_before_the_cursor(
    db: Data, box: BBox, interval: Interval, limit: int, at: int
) -> None:
    url, rows = db.url, db.rows
    expected = oracle(rows, box, interval)
    by_id = {r.id: r for r in rows}
    f = EventFilter(bbox=box, interval=interval)
    if expected:
        i = at % len(expected)
        cursor = Cursor((by_id[expected[i]].start, expected[i]), backward=True)
        before = expected[:i]
    else:  # a cursor past everything: the last page
        cursor, before = Cursor((interval.end + timedelta(days=1), 0), backward=True), []
    got = [i for i, _ in sliced_page(url, f, Page(limit, cursor))]
    assert got[:limit] == before[::-1][:limit]
    assert len(got) == min(limit + 1, len(before))


def test_the_tie_is_broken_by_id_across_pages(db: Data) -> None:
    url, rows = db.url, db.rows
    box, interval = BBox(-180, -90, 180, 90), Interval(TIE, TIE)
    expected = oracle(rows, box, interval)
    assert len(expected) >= 40
    f = EventFilter(bbox=box, interval=interval)
    assert walk_forward(url, f, 7) == expected


def test_long_events_that_began_before_the_window_come_first(
    db: Data,
) -> None:
    url, rows = db.url, db.rows
    box = BBox(-180, -90, 180, 90)
    interval = Interval(TIE + timedelta(days=10), TIE + timedelta(days=11))
    expected = oracle(rows, box, interval)
    started_before = [i for i in expected if next(r for r in rows if r.id == i).start == TIE]
    assert len(started_before) == 20  # the tied events that run for 30 days
    assert walk_forward(url, EventFilter(bbox=box, interval=interval), 5) == expected


def _read_plainly(url: str, box: BBox, page_rows: int = 10, most: float = 0.9) -> bool:
    stmt = select(func.box_read_plainly(envelope(box), page_rows, most))

    async def run() -> bool:
        engine = make_engine(url, settings_for(url))
        try:
            return bool(await repository.fetch_scalar(engine, stmt))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_the_gate_reads_plainly_only_boxes_with_most_events_or_a_page_of_them(
    db: Data, fresh_url: str
) -> None:
    url = db.url
    world, quarter = BBox(-180, -90, 180, 90), BBox(30, 46, 35, 50)  # ~180 of the 700 events
    assert _read_plainly(url, world)  # the time walk
    assert not _read_plainly(url, world, most=2.0)  # as_of: never the walk
    assert not _read_plainly(url, quarter, page_rows=10)
    assert _read_plainly(url, quarter, page_rows=1000)  # one page holds them all
    assert _read_plainly(url, quarter, page_rows=1000, most=2.0)
    assert not _read_plainly(fresh_url, world)  # no statistics yet: slices


@pytest.fixture(scope="module")
def client(db: Data) -> Iterator[TestClient]:
    with client_for(db.url) as c:
        yield c


@pytest.mark.parametrize("bbox", ["-180,-90,180,90", "30,46,35,50", "36,49,40,53"])
def test_pages_match_the_oracle_whichever_way_the_gate_goes(
    client: TestClient, db: Data, bbox: str
) -> None:
    rows = db.rows
    when = "2022-09-01/2024-03-01"
    expected = oracle(rows, parse_bbox(bbox), parse_datetime(when))
    assert len(expected) > 20
    got: list[int] = []
    response = client.get("/events", params={"bbox": bbox, "datetime": when, "limit": "9"})
    while True:
        body = response.json()
        got += [feature["id"] for feature in body["features"]]
        links = {link["rel"]: link["href"] for link in body["links"]}
        if "next" not in links:
            break
        response = client.get(links["next"])
    assert got == expected
    last = len(body["features"])
    back = client.get(links["prev"]).json()
    assert [feature["id"] for feature in back["features"]] == expected[-last - 9 : -last]
